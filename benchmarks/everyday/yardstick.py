"""An outside yardstick: the snippets of smolagents' own executor tests, run by both.

    python benchmarks/everyday/yardstick.py PATH/TO/smolagents/tests/test_local_python_executor.py

The snippets are the string literals that file passes to ``evaluate_python_code``, assigns
to ``code`` or lists in a ``parametrize`` over ``code``. Each runs in smolagents'
``evaluate_python_code`` (its result: the value of the last statement) and in a fresh
engine session on the default policy (retried under ``data`` when only imports were
refused). When the last statement is an assignment, the engine's run reads the assigned
name afterwards, since the engine answers with the value of a trailing expression only.
"Same" means both ran and gave equal values (compared as JSON: the engine answers sets and
tuples as lists), or both refused or failed. Needs ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import ast
import math
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from pydantic_core import PydanticSerializationError, to_jsonable_python  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from engine import Engine, Severity  # noqa: E402

MODULES = ["math", "statistics", "json", "re", "datetime", "collections", "itertools",
           "functools", "random", "heapq", "bisect", "textwrap", "time", "string", "stat",
           "typing", "operator", "enum", "dataclasses", "contextlib", "decimal", "fractions",
           "csv", "copy", "unicodedata", "difflib"]


#: Test classes and functions whose snippets are security probes, not everyday code.
_PROBE_WORDS = ("secur", "vulnerab", "danger", "escape", "dunder", "unsafe", "forbidden",
                "import_os")


def snippets(test_file: Path) -> list[tuple[str, bool]]:
    """``(code, is_probe)`` for every distinct snippet the test file runs.

    Snippets are the strings (plain or wrapped in ``dedent``) passed to
    ``evaluate_python_code`` or an ``executor(...)``, assigned to a name that starts with
    ``code`` or ends with ``_code``, or listed under a ``parametrize`` argument whose name
    contains ``code``. A snippet is a probe when a test class or function around it is named
    after security (``TestSecurity...``, ``test_vulnerability_...``, ``dangerous_...``).
    """
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, probe: bool) -> None:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            probe = probe or any(w in node.name.lower() for w in _PROBE_WORDS)
            for decorator in node.decorator_list:
                found.extend((c, probe) for c in _parametrized(decorator))
        if isinstance(node, ast.Call) and _called(node.func) in (
                "evaluate_python_code", "executor") and node.args:
            found.extend((c, probe) for c in _strings([node.args[0]]))
        elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and (t.id.startswith("code") or t.id.endswith("_code"))
                for t in node.targets):
            found.extend((c, probe or any(isinstance(t, ast.Name) and "danger" in t.id
                                          for t in node.targets))
                         for c in _strings([node.value]))
        for child in ast.iter_child_nodes(node):
            visit(child, probe)

    visit(ast.parse(test_file.read_text()), False)
    unique: dict[str, bool] = {}
    for raw, probe in found:
        text = raw.strip("\n")
        try:
            ast.parse(text)
        except SyntaxError:
            continue
        if text:
            unique[text] = unique.get(text, False) or probe
    return list(unique.items())


def _called(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _parametrized(decorator: ast.expr) -> list[str]:
    if not (isinstance(decorator, ast.Call) and _called(decorator.func) == "parametrize"
            and len(decorator.args) >= 2 and isinstance(decorator.args[1], (ast.List, ast.Tuple))):
        return []
    names = [n.strip() for n in str(getattr(decorator.args[0], "value", "")).split(",")]
    at = next((i for i, n in enumerate(names) if "code" in n), None)
    if at is None:
        return []
    items = [case.elts[at] if isinstance(case, ast.Tuple) and len(case.elts) > at else case
             for case in decorator.args[1].elts]
    return _strings(items)


def _strings(nodes: list[ast.expr]) -> list[str]:
    """String constants, also inside ``dedent(...)``."""
    out: list[str] = []
    for node in nodes:
        if isinstance(node, ast.Call) and _called(node.func) == "dedent" and node.args:
            out.extend(_strings([node.args[0]]))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append(textwrap.dedent(node.value))
    return out


def with_result(code: str) -> tuple[str, bool]:
    """The code, plus a trailing read of the name its last statement assigns; and whether
    the two values can be compared (not when the snippet ends inside a loop or a block, where
    smolagents answers the last expression it evaluated and the engine answers nothing)."""
    last = ast.parse(code).body[-1]
    if isinstance(last, ast.Expr):
        return code, True
    target: ast.expr | None = None
    if isinstance(last, ast.Assign):
        target = last.targets[-1]
    elif isinstance(last, (ast.AugAssign, ast.AnnAssign)):
        target = last.target
    if isinstance(target, (ast.Name, ast.Tuple, ast.Subscript, ast.Attribute)):
        return f"{code}\n{ast.unparse(target)}", True
    return code, False


def peer(code: str) -> tuple[str, Any]:
    from smolagents.local_python_executor import BASE_PYTHON_TOOLS, evaluate_python_code

    try:
        result, _ = evaluate_python_code(code, dict(BASE_PYTHON_TOOLS), state={},
                                         authorized_imports=MODULES)
        return "ok", result
    except Exception as exc:  # the peer's refusals and the snippet's own errors alike
        return "error", type(exc).__name__


def same(theirs: tuple[str, Any], ours: tuple[str, Any], comparable: bool = True) -> bool:
    """Both failed, or both ran and answered the same data. The peer's value is first put
    through the encoding the engine answers with (pydantic-core's: tuples and generators
    become lists, tuple keys strings); a value that is not data (an object of the snippet's
    class) and a snippet that ends in a block are compared by whether both ran."""
    if theirs[0] != "ok" or ours[0] != "ok":
        return theirs[0] != "ok" and ours[0] != "ok"
    if not comparable:
        return True
    try:
        expected = to_jsonable_python(theirs[1])
    except PydanticSerializationError:
        return True
    got = ours[1]
    if isinstance(expected, float) and isinstance(got, float):
        return math.isclose(expected, got)
    if isinstance(theirs[1], (set, frozenset)) and isinstance(got, list):  # a set answered
        return sorted(map(repr, expected)) == sorted(map(repr, got))
    return bool(expected == got)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("test_file", type=Path)
    parser.add_argument("--show", type=int, default=0, help="print N snippets that differ")
    args = parser.parse_args()
    found = snippets(args.test_file)
    default, data = Engine((), "default"), Engine((), "data")
    outcomes: list[tuple[str, tuple[str, Any], tuple[str, Any], bool]] = []
    probes: list[tuple[str, tuple[str, Any], tuple[str, Any]]] = []
    try:
        for code, probe in found:
            theirs = peer(code)
            source, comparable = with_result(code)
            run = default.run(source)
            errors = [d for d in run.diagnostics if d.severity is Severity.ERROR]
            if errors and all(d.code == "P101" for d in errors) and not probe:
                run = data.run(source)
                errors = [d for d in run.diagnostics if d.severity is Severity.ERROR]
            ours = ("ok", run.value) if run.ok else ("error", errors[0].code if errors else "?")
            if probe:
                probes.append((code, theirs, ours))
            else:
                outcomes.append((code, theirs, ours, same(theirs, ours, comparable)))
    finally:
        default.close()
        data.close()
    console = Console()
    table = Table(title=f"{len(outcomes)} everyday snippets of {args.test_file.name}")
    table.add_column("smolagents")
    table.add_column("engine")
    table.add_column("same")
    table.add_column("snippets", justify="right")
    counts = Counter((t[0], o[0], s) for _, t, o, s in outcomes)
    for (theirs, ours, agreed), n in sorted(counts.items()):
        table.add_row(theirs, ours, "yes" if agreed else "no", str(n))
    agreed = sum(s for *_, s in outcomes)
    table.add_row("total", "", f"{agreed / len(outcomes):.1%}", f"{agreed}/{len(outcomes)}")
    console.print(table)
    refused = [p for p in probes if p[2][0] == "error"]
    console.print(f"security probes: {len(refused)}/{len(probes)} refused or failed in the "
                  "engine; run anyway:")
    for code, theirs, ours in probes:
        if ours[0] != "error":
            console.print(f"  smolagents {theirs!r:.60}  engine {ours!r:.60}: {code[:80]!r}")
    for code, theirs, ours, _ in [o for o in outcomes if not o[3]][:args.show]:
        console.print(f"[bold]smolagents {theirs!r:.80}  engine {ours!r:.80}[/]")
        console.print(code[:400])


if __name__ == "__main__":
    main()

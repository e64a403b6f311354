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
import json
import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from engine import Engine, Severity  # noqa: E402

MODULES = ["math", "statistics", "json", "re", "datetime", "collections", "itertools",
           "functools", "random", "heapq", "bisect", "textwrap", "time", "string", "stat",
           "typing", "operator", "enum", "dataclasses", "contextlib", "decimal", "fractions",
           "csv", "copy", "unicodedata", "difflib"]


def snippets(test_file: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(test_file.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == \
                "evaluate_python_code" and node.args:
            found.extend(_strings([node.args[0]]))
        elif isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) == "code" for t in node.targets):
            found.extend(_strings([node.value]))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == \
                "parametrize" and len(node.args) >= 2:
            names = [n.strip() for n in str(getattr(node.args[0], "value", "")).split(",")]
            if "code" in names and isinstance(node.args[1], (ast.List, ast.Tuple)):
                at = names.index("code")
                for case in node.args[1].elts:
                    item = case.elts[at] if isinstance(case, ast.Tuple) and len(case.elts) > at \
                        else case
                    found.extend(_strings([item]))
    unique: dict[str, None] = {}
    for raw in found:
        text = raw.strip("\n")
        try:
            ast.parse(text)
        except SyntaxError:
            continue
        if text:
            unique[text] = None
    return list(unique)


def _strings(nodes: list[ast.expr]) -> list[str]:
    return [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def with_result(code: str) -> str:
    """The code, plus a trailing read of the name its last statement assigns."""
    last = ast.parse(code).body[-1]
    while isinstance(last, (ast.For, ast.While)) and last.body:  # its last statement ran last
        last = last.body[-1]
    target: ast.expr | None = None
    if isinstance(last, ast.Assign):
        target = last.targets[-1]
    elif isinstance(last, (ast.AugAssign, ast.AnnAssign)):
        target = last.target
    if isinstance(target, (ast.Name, ast.Tuple, ast.Subscript)):
        return f"{code}\n{ast.unparse(target)}"
    return code


def peer(code: str) -> tuple[str, Any]:
    from smolagents.local_python_executor import BASE_PYTHON_TOOLS, evaluate_python_code

    try:
        result, _ = evaluate_python_code(code, dict(BASE_PYTHON_TOOLS), state={},
                                         authorized_imports=MODULES)
        return "ok", result
    except Exception as exc:  # the peer's refusals and the snippet's own errors alike
        return "error", type(exc).__name__


def same(theirs: tuple[str, Any], ours: tuple[str, Any]) -> bool:
    if theirs[0] != "ok" or ours[0] != "ok":
        return theirs[0] != "ok" and ours[0] != "ok"
    if isinstance(theirs[1], float) and isinstance(ours[1], float):
        return math.isclose(theirs[1], ours[1])
    if isinstance(theirs[1], (set, frozenset)) and isinstance(ours[1], list):  # a set answered
        return bool(sorted(map(repr, _as_json(list(theirs[1])))) ==
                    sorted(map(repr, _as_json(ours[1]))))
    return bool(_as_json(theirs[1]) == _as_json(ours[1]))


def _as_json(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, default=lambda v: sorted(v, key=repr)
                                     if isinstance(v, (set, frozenset)) else repr(v)))
    except (TypeError, ValueError):
        return repr(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("test_file", type=Path)
    parser.add_argument("--show", type=int, default=0, help="print N snippets that differ")
    args = parser.parse_args()
    codes = snippets(args.test_file)
    default, data = Engine((), "default"), Engine((), "data")
    outcomes: list[tuple[str, tuple[str, Any], tuple[str, Any], bool]] = []
    try:
        for code in codes:
            theirs = peer(code)
            run = default.run(with_result(code))
            errors = [d for d in run.diagnostics if d.severity is Severity.ERROR]
            if errors and all(d.code == "P101" for d in errors):
                run = data.run(with_result(code))
                errors = [d for d in run.diagnostics if d.severity is Severity.ERROR]
            ours = ("ok", run.value) if run.ok else ("error", errors[0].code if errors else "?")
            outcomes.append((code, theirs, ours, same(theirs, ours)))
    finally:
        default.close()
        data.close()
    console = Console()
    table = Table(title=f"{len(codes)} snippets of {args.test_file.name}")
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
    for code, theirs, ours, _ in [o for o in outcomes if not o[3]][:args.show]:
        console.print(f"[bold]smolagents {theirs!r:.80}  engine {ours!r:.80}[/]")
        console.print(code[:400])


if __name__ == "__main__":
    main()

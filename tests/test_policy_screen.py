"""The policy screen (``engine.policy.screen``) against the full policy check.

The screen lets a snippet skip the full check only when the full check would find nothing.
Each test here holds it to that one-way promise over real snippets (the attack corpus, the
policy cases, the agent task solutions, the everyday corpus, every snippet-like string in
this test suite) and over mutants of the snippets it clears, with hostile names put in.
"""

from __future__ import annotations

import ast
import random
import typing
from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path

import pytest

from engine import load_tools
from engine.catalog import ToolCatalog
from engine.checks import CheckSpec, StaticChecker
from engine.diagnostics import Diagnostic
from engine.parsing import ParsedSnippet, ScreenedSnippet, parse_cst, parse_python
from engine.policy.bounds import check_source_size, check_tree_size
from engine.policy.cases import load_cases
from engine.policy.check import check_policy
from engine.policy.model import Policy
from engine.policy.rules import PolicyContext
from engine.policy.screen import KNOWN_SYNTAX, clears
from engine.policy.vocabulary import SyntaxKind
from engine.results import StageStatus
from engine.stubs import render_stubs
from engine.tools import ToolRegistry
from tests.security.corpus_model import PLACEHOLDERS, load_corpus

ROOT = Path(__file__).resolve().parent.parent


@cache
def _registry() -> ToolRegistry:
    return load_tools("tests.security.toolset")


def _context(policy: str | Path, **session: typing.Any) -> PolicyContext:
    registry = _registry()
    loaded = Policy.load(policy)
    permitted = registry.only(loaded.tools.permits)
    denied = frozenset(n for n in registry.names if n not in permitted)
    return PolicyContext(loaded, ToolCatalog.of(permitted), denied_tools=denied, **session)


@cache
def _contexts() -> dict[str, PolicyContext]:
    security = ROOT / "tests" / "security"
    return {
        "default": _context("default"),
        "strict": _context("strict"),
        "data": _context("data"),
        "corpus": _context(security / "policy.toml"),
        "corpus-data": _context(security / "policy_data.toml"),
        "default, in a session": _context(
            "default",
            session_names=frozenset({"rows", "total", "math", "m", "j", "Point", "Enum"}),
            session_modules={"math": "math", "m": "math", "j": "json"},
            session_classes=frozenset({"Point"}), session_imports={"Enum": "enum.Enum"}),
    }


def _snippet_strings(path: Path) -> Iterator[str]:
    """String constants in a test module that look like snippets (two tokens or more)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and len(node.value) < 4000 and any(c in node.value for c in "=(\n"):
            yield node.value


@cache
def _snippets() -> tuple[str, ...]:
    found: list[str] = []
    values = {p: "x" for p in PLACEHOLDERS}
    found += [attack.render(values) for attack in load_corpus()]
    for cases in sorted((ROOT / "policies" / "tests").glob("*.toml")):
        found += [case.source for case in load_cases(cases).cases]
    from benchmarks.agent_tasks.tasks import TASKS
    from benchmarks.everyday.corpus import SNIPPETS

    found += [task.solution for task in TASKS]
    found += [snippet.code for snippet in SNIPPETS]
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        found += list(_snippet_strings(path))
    unique: dict[str, None] = {}
    for source in found:
        tree = parse_python(source)
        if not isinstance(tree, Diagnostic) and tree.body:
            unique[source] = None
    return tuple(unique)


@lru_cache(maxsize=4096)
def _parsed(source: str) -> ParsedSnippet | Diagnostic:
    """LibCST's tree and scopes depend on the text only: shared by every context."""
    return parse_cst(source)


def _disagreement(source: str, ctx: PolicyContext) -> list[Diagnostic] | None:
    """The full check's findings on a snippet the screen cleared, or None when they agree."""
    tree = parse_python(source)
    if isinstance(tree, Diagnostic) or check_tree_size(tree, source, ctx.policy):
        return None
    if not clears(tree, source, ctx):
        return None
    parsed = _parsed(source)
    if not isinstance(parsed, ParsedSnippet):
        return None  # LibCST cannot parse what CPython can: not a policy question
    try:
        found = check_policy(parsed, ctx)
    except RecursionError:
        return None
    return found or None


@pytest.mark.parametrize("name", list(_contexts()))
def test_the_screen_clears_nothing_the_full_check_refuses(name: str) -> None:
    ctx = _contexts()[name]
    wrong = {}
    for source in _snippets():
        found = _disagreement(source, ctx)
        if found is not None:
            wrong[source] = [d.code for d in found]
    assert not wrong, wrong


#: Names put into cleared snippets: each one the full check refuses somewhere.
HOSTILE = (
    "__class__", "__globals__", "__builtins__", "__import__", "_private", "_", "eval", "exec",
    "open", "getattr", "globals", "vars", "type", "super", "compile", "breakpoint", "input",
    "format", "format_map", "mro", "gi_frame", "f_back", "tb_frame", "func_globals",
    "wipe", "send", "add", "final_answer", "print", "Enum", "IntEnum", "math", "m", "j",
    "decoder", "ABCMeta", "Point",
    "to_csv", "agg", "read_csv", "system", "ｏｐｅｎ", "Record", "lookup", "memoryview",
)


class _Mutate(ast.NodeTransformer):
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def _pick(self, current: str) -> str:
        return self.rng.choice(HOSTILE) if self.rng.random() < 0.3 else current

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self._pick(node.id)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.Attribute:
        self.generic_visit(node)
        node.attr = self._pick(node.attr)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self._pick(node.arg)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        self.generic_visit(node)
        node.name = self._pick(node.name)
        return node

    def visit_alias(self, node: ast.alias) -> ast.alias:
        if self.rng.random() < 0.3:
            node.name = self.rng.choice(("os", "sys", "json", "decoder", "ABCMeta", "_x",
                                         "math", "mean", "enum", "Enum", "typing", "*"))
        if self.rng.random() < 0.3:
            node.asname = self.rng.choice(HOSTILE)
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.ImportFrom:
        self.generic_visit(node)
        if self.rng.random() < 0.3:
            node.module = self.rng.choice(("os", "json", "json.decoder", "typing", "enum",
                                           "statistics", "collections.abc"))
        return node

    def visit_keyword(self, node: ast.keyword) -> ast.keyword:
        self.generic_visit(node)
        if node.arg is not None and self.rng.random() < 0.2:
            node.arg = self.rng.choice(("module", "qualname", "to", "key"))
        return node


@pytest.mark.parametrize("name", ["default", "corpus", "default, in a session"])
def test_mutants_of_cleared_snippets_keep_the_promise(name: str) -> None:
    ctx = _contexts()[name]
    rng = random.Random(14)
    cleared = [s for s in _snippets() if _clear(s, ctx)]
    assert len(cleared) > 100  # the screen is only worth having if it clears a lot
    wrong = {}
    tried = 0
    for source in cleared:
        for _ in range(6):
            mutant = ast.unparse(_Mutate(rng).visit(ast.parse(source)))
            tried += 1
            found = _disagreement(mutant, ctx)
            if found is not None:
                wrong[mutant] = [d.code for d in found]
    assert tried > 400
    assert not wrong, wrong


def _clear(source: str, ctx: PolicyContext) -> bool:
    """Whether the checker would clear the snippet (the size limits come first)."""
    if check_source_size(source, ctx.policy) is not None:
        return False
    tree = parse_python(source)
    return (not isinstance(tree, Diagnostic) and not check_tree_size(tree, source, ctx.policy)
            and clears(tree, source, ctx))


@pytest.mark.parametrize("source", [
    "x = 1 + 1\n",
    "total = 0\nfor i in range(3):\n    total = add(total, i)\nprint(total)\n",
    "rows = [get_record(i) for i in range(3)]\nbest = max(rows, key=lambda r: r.score)\n",
    "def double(n):\n    return add(n, n)\n\nprint(double(2))\n",
    "import math\nfrom statistics import mean as avg\nprint(math.sqrt(avg([1, 4])))\n",
    "try:\n    lookup('k')\nexcept ValueError as err:\n    print(f'no: {err}')\n",
])
def test_ordinary_snippets_are_cleared(source: str) -> None:
    assert _clear(source, _contexts()["default"])


@pytest.mark.parametrize("source", [
    "import os\n",  # a module the policy does not allow
    "from math import *\n",  # star imports
    "import json.decoder\n",  # dotted imports: submodules are the full check's
    "from json import decoder\n",  # a submodule by `from`
    "import json\nd = json.decoder\n",  # a submodule by attribute
    "from typing import ABCMeta\n",  # a metaclass re-exported by a module
    "import math\nmath = 2\n",  # a module name rebound: which is it?
    "def f():\n    import math\n",  # imports below module level
    "x = ().__class__\n",  # dunder attribute
    "x = open\n",  # a builtin the policy does not allow
    "add = 1\n",  # rebinding a tool
    "def f():\n    return undefined_name\n",  # a name nothing binds
    "y = 'a' * 10 ** 9\n",  # constant arithmetic: the size rule estimates it
    "n = 1\ny = [n] * 100000000\n",  # a repeated list literal, names inside or not
    "j, f = f[0] = [1, 2]\n",  # the full check reads every target before any is bound
    "x = [0]\ni, x[i] = 0, 1\n",  # ... and every element of one target
    "x = [0]\nfor k, x[k] in [(0, 1)]:\n    pass\n",  # ... also a loop's
    "s = '{0.x}'.format(1)\n",  # format methods
    "class A:\n    pass\n",  # classes
    "def g():\n    global q\n    q = 1\n",  # declarations
    "ｘ = 1\n",  # not ASCII: NFKC folding is the full check's
    "t = type('A', (), {})\n",  # type() with three arguments
    "send(to='a@elsewhere.org')\n",  # a tool with argument rules in the corpus policy
    "p = j.decoder\n",  # a submodule of a module an earlier snippet imported
    "m = 1\n",  # rebinding a module an earlier snippet imported
])
def test_unusual_snippets_are_left_to_the_full_check(source: str) -> None:
    assert not _clear(source, _contexts()["corpus"] if "send(" in source
                      else _contexts()["default, in a session"])


def test_the_screen_knows_every_construct_a_policy_can_forbid() -> None:
    assert frozenset(typing.get_args(SyntaxKind)) == KNOWN_SYNTAX


def test_a_policy_forbidding_lambda_is_not_cleared_by_the_screen() -> None:
    ctx = _contexts()["strict"]
    if "lambda" not in ctx.policy.forbidden_syntax:
        pytest.skip("the strict policy allows lambda")
    assert not _clear("f = lambda: 1\n", ctx)


def test_a_cleared_snippet_reports_the_same_names_as_the_full_path() -> None:
    """Sessions learn a snippet's names from the check: the screen's path must agree."""
    registry = _registry()
    spec = CheckSpec(policy=Policy.load("default"), tools=ToolCatalog.of(registry),
                     stubs=render_stubs(registry), check_types=False)
    checker = StaticChecker(spec)
    ctx = _contexts()["default"]
    compared = 0
    for source in _snippets():
        if not _clear(source, ctx):
            continue
        report = checker.check(source)
        parsed = parse_cst(source)
        assert isinstance(parsed, ParsedSnippet)
        assert report.ok, source
        assert tuple(b.name for b in report.bindings) == parsed.module_bindings, source
        assert report.stages[1].status is StageStatus.PASSED
        compared += 1
    assert compared > 100


def test_declarations_in_one_line_suites_are_found_on_both_paths() -> None:
    source = "if True: y: int = 1\ntry: pass\nexcept ValueError: z: str = 'a'\n"
    tree = parse_python(source)
    parsed = parse_cst(source)
    assert isinstance(parsed, ParsedSnippet) and not isinstance(tree, Diagnostic)
    assert parsed.module_declarations == {"y", "z"}
    assert ScreenedSnippet.of(source, tree).module_declarations == {"y", "z"}


def test_declarations_in_match_cases_are_found_on_both_paths() -> None:
    source = ("match 1:\n    case 1:\n        def f() -> int:\n            return 1\n"
              "    case _:\n        v: int = 2\n")
    tree = parse_python(source)
    parsed = parse_cst(source)
    assert isinstance(parsed, ParsedSnippet) and not isinstance(tree, Diagnostic)
    assert parsed.module_declarations == {"f", "v"}
    assert ScreenedSnippet.of(source, tree).module_declarations == {"f", "v"}

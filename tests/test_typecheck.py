"""Stage 3: mypy against the generated stubs, with locations mapped to the snippet."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Engine, Policy, SessionContext, Stage, load_tools, render_stubs
from engine.catalog import ToolCatalog
from engine.checks import CheckSpec, StaticChecker
from engine.diagnostics import Severity
from engine.parsing import ParsedSnippet, parse_cst
from engine.typecheck.checker import TypeChecker
from engine.typecheck.context import Binding, mentioned_names
from tests.conftest import codes_of, only

TYPE_ERRORS = [
    # (snippet, code, mypy code, line, column)
    ("deactivate('7')", "T101", "arg-type", 1, 12),
    ("users = get_all_users()\nfor u in users:\n    deactivate(u.name)", "T101", "arg-type", 3, 16),
    ("deactivate(1, 2)", "T102", "call-arg", 1, 1),
    ("deactivate()", "T102", "call-arg", 1, 1),
    ("send_email('a@b.c', subject='x', priority=1)", "T102", "call-arg", 1, 1),
    ("u = get_all_users()[0]\nprint(u.adress)", "T103", "attr-defined", 2, 7),
    ("u = get_all_users()[0]\nprint(u.address.contry)", "T103", "attr-defined", 2, 7),
    ("u = get_user(3)\nprint(u.name)", "T105", "union-attr", 2, 7),
    ("n = len(get_all_users()) + 'x'", "T107", "operator", 1, 28),
    ("x: int = 'a'", "T108", "assignment", 1, 10),
]


@pytest.mark.parametrize(("snippet", "code", "rule", "line", "column"), TYPE_ERRORS)
def test_type_error_mapped_to_snippet(
    users_engine: Engine, snippet: str, code: str, rule: str, line: int, column: int
) -> None:
    report = users_engine.check(snippet)
    assert not report.ok and report.failed_stage is Stage.TYPES
    found = only(report, code)
    assert found.rule == rule
    assert (found.line, found.column) == (line, column), found
    assert found.source_line == snippet.splitlines()[line - 1]
    assert found.hint


def test_empty_containers_need_no_annotation(users_engine: Engine) -> None:
    report = users_engine.check("from collections import Counter\nseen = {}\nc = Counter()\n"
                                "items = []\nitems.append(1)\nc['x'] += 1\nprint(seen, c)")
    assert report.ok, report.diagnostics


def test_attribute_typo_gets_mypy_suggestion(users_engine: Engine) -> None:
    found = only(users_engine.check("u = get_all_users()[0]\nprint(u.address.contry)"), "T103")
    assert 'maybe "country"?' in found.message
    assert found.end_column is not None and found.end_column > found.column


def test_clean_snippet_passes_all_stages(users_engine: Engine) -> None:
    with open("examples/snippets/deactivate_inactive.py") as f:
        report = users_engine.check(f.read())
    assert report.ok, report.diagnostics
    assert [s.status.value for s in report.stages] == ["passed", "passed", "passed"]


def test_same_size_snippet_in_same_second_is_rechecked(users_engine: Engine) -> None:
    # mypy detects changes by whole-second mtime and size: a wrong snippet of the same length
    # checked right after a clean one must still be rejected.
    good = users_engine.check("deactivate(1)")
    bad = users_engine.check("deactivate('')")
    again = users_engine.check("deactivate(1)")
    assert good.ok and again.ok
    assert codes_of(bad) == ["T101"]


def test_errors_alternate_correctly_many_times(users_engine: Engine) -> None:
    for i in range(20):
        report = users_engine.check(f"deactivate({i})" if i % 2 else f"deactivate('{i}')")
        assert report.ok == bool(i % 2), (i, report.diagnostics)


def test_pydantic_model_construction_is_checked(users_engine: Engine) -> None:
    assert users_engine.check("a = Address(street='s', city='c', country='IL')").ok
    missing = users_engine.check("a = Address(street='s')")
    assert set(codes_of(missing)) == {"T102"}
    assert any("city" in d.message for d in missing.diagnostics)
    wrong = users_engine.check("a = Address(street=1, city='c', country='IL')")
    assert codes_of(wrong) == ["T101"]


def test_nested_models_company(company_engine: Engine) -> None:
    ok = company_engine.check(
        "c = get_company('Acme')\n"
        "cities = {e.address.city for d in c.departments for e in d.employees}\n"
        "happiest = max((e for d in c.departments for e in d.employees), key=compute_happiness)\n"
        "print(sorted(cities), happiest.name)\n"
    )
    assert ok.ok, ok.diagnostics
    bad = company_engine.check("c = get_company('Acme')\nprint(c.departments.employees)")
    assert only(bad, "T103").line == 2


def test_session_names_keep_their_types(users_engine: Engine) -> None:
    first = users_engine.check(
        "import math as m\n"
        "active = [u for u in get_all_users() if u.active]\n"
        "def label(u: User, *, upper: bool = False) -> str:\n"
        "    return u.name.upper() if upper else u.name\n"
        "count = 0\n"
        "count = 'many'\n"
    )
    assert first.ok, first.diagnostics
    kinds = {b.name: (b.kind, b.text) for b in first.bindings}
    assert kinds["m"] == ("module", "math")
    assert kinds["active"] == ("value", "list[_t.User]")
    assert kinds["count"] == ("value", "str")  # the type at the end of the snippet
    assert kinds["label"][0] == "function"
    context = SessionContext().extended(first.bindings)

    later = users_engine.check(
        "print(m.sqrt(len(active)), label(active[0], upper=True), count.upper())",
        context=context,
    )
    assert later.ok, later.diagnostics
    wrong = users_engine.check("print(active[0].nmae)\nlabel(1)\ncount + 1", context=context)
    assert codes_of(wrong) == ["T103", "T101", "T107"]
    assert [d.line for d in wrong.diagnostics] == [1, 2, 3]


def test_rebinding_session_name_to_new_type_is_fine(users_engine: Engine) -> None:
    context = SessionContext((Binding("total", "value", "int"),))
    report = users_engine.check("total = str(total)\nprint(total.zfill(5))", context=context)
    assert report.ok, report.diagnostics


def test_redefining_a_session_function(users_engine: Engine) -> None:
    context = SessionContext((Binding("f", "function", "def f(x: int) -> int: ..."),))
    report = users_engine.check("def f(x: str) -> str:\n    return x\nprint(f('a'))",
                                context=context)
    assert report.ok, report.diagnostics


def test_running_an_annotated_snippet_twice(users_engine: Engine) -> None:
    source = "counts: dict[str, int] = {}\ncounts['a'] = 1\n"
    first = users_engine.check(source)
    assert first.ok
    again = users_engine.check(source, context=SessionContext().extended(first.bindings))
    assert again.ok, again.diagnostics


def test_session_context_without_checker_names_only() -> None:
    engine = Engine([], check_types=False)
    report = engine.check("x = 1")
    assert [b.name for b in report.bindings] == ["x"]


def test_final_answer_is_known_and_typed(users_engine: Engine) -> None:
    assert users_engine.check("final_answer({'count': 3})").ok
    assert codes_of(users_engine.check("final_answer()")) == ["T102"]


def test_code_after_final_answer_keeps_declared_types(users_engine: Engine) -> None:
    report = users_engine.check("n = len(get_all_users())\nfinal_answer(n)")
    assert report.ok
    assert {b.name: b.text for b in report.bindings}["n"] == "int"


@pytest.fixture(scope="module")
def in_process() -> Iterator[StaticChecker]:
    """The stages as a check worker runs them, in this process, to look inside."""
    registry = load_tools("examples.toolsets.users")
    checker = StaticChecker(CheckSpec(policy=Policy.load("default"),
                                      tools=ToolCatalog.of(registry),
                                      stubs=render_stubs(registry)))
    yield checker
    checker.close()


def test_checks_do_not_accumulate_mypy_state(in_process: StaticChecker) -> None:
    # mypy keeps exported types per expression node across updates; left alone, every
    # check's tree stayed reachable (a leak found by benchmarks/executors.py).
    for i in range(20):
        in_process.check(f"n = {i} + len(get_all_users())")
    server = in_process._type_checker()._server
    assert server is not None and server.fine_grained_manager is not None
    assert len(server.fine_grained_manager.manager.all_types) == 0


def test_checker_crash_is_a_diagnostic_and_recovers(
    in_process: StaticChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    checker = in_process._type_checker()

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated mypy crash")

    monkeypatch.setattr(checker, "_check", boom)
    report = in_process.check("x = 1")
    assert codes_of(report) == ["T198"] and not report.ok
    monkeypatch.undo()
    assert in_process.check("x = 1").ok
    assert codes_of(in_process.check("deactivate('x')")) == ["T101"]


def test_engines_in_one_process_do_not_share_mypy_state() -> None:
    # mypy caches builtin types process-wide; another engine's build must not leak into this
    # engine's checks (the join of `str` types below crashed mypy: T198).
    from benchmarks.agent_tasks.tasks import TASKS
    from engine import load_tools

    engines = [Engine(load_tools(m), "default") for m in
               ("examples.toolsets.users", "examples.toolsets.clues", "examples.toolsets.orders")]
    snippet = next(t.solution for t in TASKS if t.id == "branch-clues-river-messages")
    try:
        for _ in range(2):
            for engine in engines:
                engine.check("x = max(['a', 'bb'], key=len) + str(len('c'))")
            report = engines[1].check(snippet)
            assert report.ok, report.diagnostics
    finally:
        for engine in engines:
            engine.close()


def test_an_earlier_snippets_classes_are_types_and_bases_later() -> None:
    """A class carries across snippets as a lenient stub: named in annotations, extended,
    called and operated on without false errors (the run still checks what it does)."""
    from engine import Engine

    with Engine((), "default") as engine, engine.session() as session:
        first = session.run(
            "from dataclasses import dataclass\nimport enum\n@dataclass\nclass Item:\n"
            "    name: str\n    qty: int = 0\nclass Color(enum.Enum):\n    RED = 1\n"
            "class V:\n    def __init__(self, x):\n        self.x = x\n"
            "    def __add__(self, other):\n        return V(self.x + other.x)\n")
        assert first.ok, first.diagnostics
        later = session.run(
            "class Special(Item):\n    pass\nsp: Special = Special('b', 3)\n"
            "shade: Color = Color.RED\nprint(sp.qty, isinstance(sp, Item), shade.name, "
            "(V(1) + V(2)).x)")
        assert later.ok and later.stdout == "3 True RED 3\n", later.diagnostics
        refused = session.check("class Loud(str):\n    pass")
        assert [d.code for d in refused.diagnostics] == ["P132"]


@pytest.mark.parametrize("source", [
    "stats = {'revenue': 31000}\nstats['ratio'] = round(1 / 3, 2)\nprint(stats)",
    "values = [1, 2]\nvalues.append(2.5)\nprint(values)",
    "config = {'name': 'w', 'retries': 3}\nprint(config['retries'] * 2)",
    "record = {'id': 1, 'tags': ['a']}\nprint(len(record['tags']))",
    "def a(x):\n    return x\ndef b(x, y):\n    return x + y\nfs = [a, b]\nprint(fs[0](1))",
    "counts = {'a': 3, 'b': 5}\nprint(max(counts, key=counts.get))",
    "from functools import reduce\nprint(reduce(lambda a, b: a + b, [[1], [2]], []))",
    "slots = [None, None]\nslots.append(2.5)\nprint(slots)",
    "from collections import ChainMap\nprint(ChainMap({}, {'a': 1})['a'])",
    # Python runs these as meant; they fail clearly at run time if they are wrong
    "import re\nprint(re.search('a', 'abc').group())",
    "class T:\n    pass\nt = T()\nt.label = 'x'\nprint(t.label)",
    "class T:\n    data: dict = {}\n    data['k']: str = 'v'\nprint(T.data)",
])
def test_what_mypy_infers_too_narrowly_from_unannotated_data_is_a_warning(source: str) -> None:
    from engine import Engine

    with Engine((), "default") as engine:
        result = engine.run(source)
    assert result.ok, result.diagnostics
    assert all(d.severity is Severity.WARNING for d in result.diagnostics)


@pytest.mark.parametrize(("source", "code"), [
    ("print(len(1))", "T101"),
    ("counts = [1, 2]\ncounts += 1", "T101"),
    ("def f(**kw: int) -> None:\n    pass\nf(**42)", "T101"),
    ("n: int = 1\nn = 'one'", "T108"),
    ("items = [1, 2]\nitems.append('three')", "T101"),
    ("print(add(1.5, 2))", "T101"),  # a tool's parameter stays precise
    # an attribute the snippet never sets on its class: a typo, not a dynamic attribute
    ("class T:\n    def __init__(self):\n        self.label = 'x'\nprint(T().lable)", "T103"),
    ("class T:\n    pass\nt = T()\nt.label = 'x'\nprint(t.lable)", "T103"),
    ("import re\nm = re.compile('a')\nprint(m.serch('abc'))", "T103"),
    ("def f(x: str | None) -> int:\n    return x.count('a')", "T105"),  # not a regex match
])
def test_real_type_errors_are_still_errors(source: str, code: str) -> None:
    from engine import Engine, ToolRegistry, tool

    @tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    with Engine(ToolRegistry([add]), "default") as engine:
        report = engine.check(source)
    errors = [d.code for d in report.diagnostics if d.severity is Severity.ERROR]
    assert code in errors, report.diagnostics


def test_optional_match_gets_a_hint_that_shows_the_fix() -> None:
    from engine import Engine

    with Engine((), "default") as engine:
        report = engine.check("import re\nre.search('a', 'abc').group()")
    finding = report.diagnostics[0]
    assert finding.code == "T105" and finding.hint is not None
    assert "if m:" in finding.hint and "m.group()" in finding.hint
    assert finding.severity is Severity.WARNING  # it runs; no match fails clearly at run time


def test_type_variables_and_generic_classes_carry_to_later_snippets() -> None:
    from engine import Engine

    with Engine((), "default") as engine, engine.session() as session:
        first = session.run(
            "from typing import Generic, TypeVar\nT = TypeVar('T')\n"
            "B = TypeVar('B', bound=str)\nclass Box(Generic[T]):\n"
            "    def __init__(self, v: T) -> None:\n        self.v = v\n"
            "def first(xs: list[T]) -> T:\n    return xs[0]\n"
            "def shout(s: B) -> B:\n    return s\n")
        assert first.ok, first.diagnostics
        later = session.run("def last(xs: list[T]) -> T:\n    return xs[-1]\n"
                            "b: Box[int] = Box(5)\nprint(last([1, 2]) + b.v, first(['a']).upper())")
        assert later.ok and later.stdout == "7 A\n", later.diagnostics
        # ...and still generic: the element type flows through, a wrong use is an error
        wrong = session.check("print(last(['a']) + 1)")
        assert [d.code for d in wrong.diagnostics] == ["T107"]
        bound = session.check("print(shout(3))")
        assert bound.diagnostics and '"B"' in bound.diagnostics[0].message
        assert "_cx_" not in bound.diagnostics[0].message


def test_a_module_first_imported_by_a_snippet_is_type_checked_and_can_be_imported_again() -> None:
    """mypy once left `statistics` untyped (Any) when the snippet imported it first, and a
    later snippet's `import statistics` was then a redefinition (T118)."""
    with Engine([], "default") as engine:
        session = engine.session()
        assert session.run("import statistics\nx = statistics.mean([1, 2])").ok
        again = session.run("import statistics\ny = statistics.mean([3])")
        assert again.ok, again.diagnostics
        wrong = session.run("z = statistics.mean('ab')")
        assert [d.code for d in wrong.errors] and wrong.errors[0].stage.value == "types"


def test_the_working_directory_is_not_where_a_snippets_imports_come_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mypy searches the working directory and MYPYPATH by default: a file there would give
    an import another type (or, searched at every update, make every check slow)."""
    (tmp_path / "heapq_helpers.py").write_text("def biggest() -> int: ...\n")
    (tmp_path / "secret_stub").mkdir()
    (tmp_path / "secret_stub" / "stat_extra.pyi").write_text("def mode() -> int: ...\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MYPYPATH", str(tmp_path / "secret_stub"))
    checker = TypeChecker("", cache=False)
    try:
        for module, name in (("heapq_helpers", "biggest"), ("stat_extra", "mode")):
            found = checker.check(_parsed(f"from {module} import {name}\ns: str = {name}()"))
            # Not found, so untyped (the policy refuses the import anyway): no int-vs-str error.
            assert found.diagnostics == (), found.diagnostics
        real = checker.check(_parsed("import heapq\ns: str = heapq.nlargest(1, [3])"))
        assert [d.code for d in real.diagnostics] == ["T108"]
    finally:
        checker.close()


def test_a_check_in_a_session_with_names_does_not_search_the_file_system(
    in_process: StaticChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every check imports the session's names from the context module. mypy forgot its
    module search at each update and listed every directory on its path again for that
    import: more work than checking the snippet."""
    context = SessionContext()
    context = context.extended(in_process.check("n = 1\nfrom math import sqrt", context).bindings)
    in_process.check("m = n + 1", context)
    listed: list[str] = []
    real_listdir = os.listdir

    def listdir(path: str | os.PathLike[str] = ".") -> list[str]:
        listed.append(str(path))
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", listdir)
    for i in range(3):
        report = in_process.check(f"m = n + {i}\nr = sqrt(m)", context)
        assert report.ok, report.diagnostics
    server = in_process._type_checker()._server
    assert server is not None and server.fine_grained_manager is not None
    typeshed = server.fine_grained_manager.manager.search_paths.typeshed_path
    # A `from math import ...` is looked up in typeshed; the working directory, the
    # interpreter's path and site-packages are not listed, and the context's import is not
    # searched for at all.
    assert all(p.startswith(typeshed) for p in listed), listed


def _parsed(source: str) -> ParsedSnippet:
    parsed = parse_cst(source)
    assert isinstance(parsed, ParsedSnippet)
    return parsed


def test_a_snippet_sees_every_earlier_name_it_mentions_however_written() -> None:
    """The prelude brings in only the names a snippet mentions; every way of mentioning one
    must still count (a nested scope, an f-string, a string annotation, NFKC spellings). The
    policy, off here, refuses names that are not plain ASCII; the type stage must not rely
    on it."""
    registry = load_tools("examples.toolsets.users")
    in_process = StaticChecker(CheckSpec(policy=Policy.load("default"),
                                         tools=ToolCatalog.of(registry),
                                         stubs=render_stubs(registry), check_policy=False))
    context = SessionContext()
    setup = ("count = 3\nlabel = 'x'\nclass Box:\n    pass\nitems = [1, 2]\né = 2.5\n"
             + "\n".join(f"unused_{i} = {i}" for i in range(30)))
    context = context.extended(in_process.check(setup, context).bindings)
    clean = [
        "def f() -> int:\n    return count + 1",
        "s = f'{label}!'",
        "def g(b: 'Box') -> 'Box':\n    return b",
        "total = sum(items) + count",
        "y = ｃｏｕｎｔ + 1",  # fullwidth letters are `count` to Python
        "z = e\u0301 * 2",  # `é` written with a combining accent
        "lambda_result = (lambda: items[0])()",
        "for count in range(2):\n    pass",
    ]
    for source in clean:
        report = in_process.check(source, context)
        assert report.ok, (source, report.diagnostics)
    # The earlier names keep their types: a misuse is still found.
    for source, code in (("label + count", "T107"), ("items.append('a')", "T101"),
                         ("n: str = ｃｏｕｎｔ", "T108")):
        report = in_process.check(source, context)
        assert [d.code for d in report.diagnostics if d.severity is Severity.ERROR] == [code], (
            source, report.diagnostics)
    in_process.close()


def test_the_prelude_brings_in_only_what_the_snippet_mentions() -> None:
    context = SessionContext((
        Binding("a", "value", "int"), Binding("b", "value", "str"),
        Binding("math", "module", "math"), Binding("Box", "class", "Box"),
        Binding("Any", "imported", "typing.Any"),
    ))
    everything = "\n".join(context.prelude())
    assert all(name in everything for name in ("_cx_a", "_cx_b", "import math", "Box", "Any"))
    some = "\n".join(context.prelude(used=mentioned_names("x: Any = a + 1  # b")))
    assert "_cx_a" in some and "_cx_b" in some and "Any" in some
    assert "import math" not in some and "Box" not in some


# Snippets whose verdict once depended on the prelude's filter (a red-team run over the
# filtered and the full prelude): names mypy reads out of strings, escaped or joined, and
# what brings names in without writing them.
PRELUDE_PROBES = [
    ("list = [3, 1, 2]", 'xs: "\\tlist[int]" = []'),
    ("class Box:\n    pass", 'b: "Bo" "x" = 1'),
    ("class Box:\n    pass", 'c: "\\x42ox" = 1'),
    ("class Box:\n    pass", "d: \"list['\\\\x42ox']\" = [1]"),
    ("class Box:\n    pass", 'e = []  # type: list["\\x42ox"]\ne.append(1)'),
    ("class pi:\n    pass", "from math import *"),
    ("import xml.dom as p", "import xml\nq: int = xml.dom.Node"),
    # A second red-team round: mypy reads a string in a string as `(` + it + `)`.
    ("list = [3, 1, 2]", "xs: \"int |\\n'\\\\x6cist[int]'\" = 1"),
    ("list = [3, 1, 2]", "xs: \"int) | ('\\\\x6cist[int]'\" = 1"),
    ("counter = 1", 'x: "countr" = 1'),  # the "did you mean" draws on every earlier name
    ("import json.tool as JT\nimport json as J", "m: int = J.tool"),
    ("class pi:\n    pass", "from math import \\\n*"),
]


@pytest.mark.parametrize(("setup", "probe"), PRELUDE_PROBES)
def test_the_filtered_prelude_gives_the_full_preludes_verdict(
    setup: str, probe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.typecheck.checker as checker_module

    registry = load_tools("examples.toolsets.users")
    checker = StaticChecker(CheckSpec(policy=Policy.load("default"),
                                      tools=ToolCatalog.of(registry),
                                      stubs=render_stubs(registry), check_policy=False))
    try:
        context = SessionContext().extended(checker.check(setup, SessionContext()).bindings)
        filtered = [(d.code, d.line, d.message) for d in checker.check(probe, context).diagnostics]
        monkeypatch.setattr(checker_module, "mentioned_names", lambda source: None)
        full = [(d.code, d.line, d.message) for d in checker.check(probe, context).diagnostics]
    finally:
        checker.close()
    assert filtered == full
    assert full, "each probe is an error with the whole context"


def test_rebinding_a_builtin_name_keeps_the_later_checks_right() -> None:
    # The context stub declared `list = [3, 1, 2]` as `list: list[int]`: every `list` of the
    # stub, this one and every later binding's, became the variable (T106 on `list[0]`).
    registry = load_tools("examples.toolsets.users")
    checker = StaticChecker(CheckSpec(policy=Policy.load("default"),
                                      tools=ToolCatalog.of(registry),
                                      stubs=render_stubs(registry), check_policy=False))
    try:
        setup = checker.check("list = [3, 1, 2]\nstr = 'a'\nname = 'b'", SessionContext())
        assert setup.ok, setup.diagnostics
        context = SessionContext().extended(setup.bindings)
        assert checker.check("y: int = list[0] + 1\nprint(name.upper())", context).ok
        wrong = checker.check("w: int = name", context)
        assert [d.code for d in wrong.diagnostics] == ["T108"], wrong.diagnostics
    finally:
        checker.close()


@pytest.mark.parametrize("shadow", [
    "class str:\n    pass", "def str(a: int) -> int:\n    return a",
    "from typing import TypeVar\nstr = TypeVar('str')"])
def test_an_earlier_name_that_takes_a_builtins_name_leaves_other_types_alone(
        shadow: str) -> None:
    # The stub declared it under its own name, so `x: str` there meant the snippet's `str`
    # (a class that takes anything, or not a type at all): a tool call with a wrong argument
    # went through.
    registry = load_tools("examples.toolsets.users")
    checker = StaticChecker(CheckSpec(policy=Policy.load("default"),
                                      tools=ToolCatalog.of(registry),
                                      stubs=render_stubs(registry), check_policy=False))
    try:
        context = SessionContext()
        for setup in (shadow, "x = 'abc'\ncounter = 1"):
            context = context.extended(checker.check(setup, context).bindings)
        report = checker.check("get_user(x)\ny: int = countr", context)
    finally:
        checker.close()
    assert [d.code for d in report.diagnostics] == ["T101", "T104"], report.diagnostics
    assert report.diagnostics[1].message.endswith('did you mean "counter"?')
    for d in report.diagnostics:
        assert not any(generated in d.message for generated in
                       ("_cx_", "codeact_ctx", "codeact_snippet")), d.message


@pytest.mark.parametrize("breaker", ["\x0c", "\u2028", "\x85", "\x1c"])
def test_a_line_break_python_does_not_count_cannot_hide_a_tool_call(breaker: str) -> None:
    # Rows of the tokenizer were looked up in str.splitlines(), which also breaks lines at
    # these characters: the comment blanked was on another line, here the tool call's.
    registry = load_tools("examples.toolsets.users")
    checker = StaticChecker(CheckSpec(policy=Policy.load("default"),
                                      tools=ToolCatalog.of(registry),
                                      stubs=render_stubs(registry)))
    source = f's = "{breaker}"\ndeactivate("not-an-int")\n#  mypy: xxxxxxxxxxxxxxxxxxxx\n'
    try:
        report = checker.check(source, SessionContext())
    finally:
        checker.close()
    assert "T101" in [d.code for d in report.diagnostics], report.diagnostics


def test_a_line_in_a_message_is_the_snippets_line() -> None:
    registry = load_tools("examples.toolsets.users")
    checker = StaticChecker(CheckSpec(policy=Policy.load("default"),
                                      tools=ToolCatalog.of(registry),
                                      stubs=render_stubs(registry), check_policy=False))
    context = SessionContext().extended(
        checker.check("a = 1\nb = 2\nc = 3", SessionContext()).bindings)
    try:
        report = checker.check("x = a + b + c\ndef g() -> None:\n    pass\n"
                               "def g() -> None:\n    pass", context)
    finally:
        checker.close()
    redefined = [d for d in report.diagnostics if "already defined" in d.message]
    assert [(d.line, d.message) for d in redefined] == [
        (4, 'Name "g" already defined on line 2')], report.diagnostics


def test_strings_and_what_hides_names_count_as_mentions() -> None:
    assert {"Box", "list"} <= (mentioned_names("d: \"list['\\\\x42ox']\" = []") or set())
    assert "Box" in (mentioned_names('b: "Bo" "x"') or set())
    assert "Box" in (mentioned_names("c = cast('\\x42ox', x)") or set())
    for hidden in ("from math import *", "x = []  # type: list[int]", "x = ('\\x42",
                   'def f(v: "\ua7f1") -> None: ...'):  # Unicode 15's `S`, unknown to 3.11
        assert mentioned_names(hidden) is None, hidden


def test_a_finding_mypy_gives_no_column_is_placed_at_the_line_start() -> None:
    """mypy reports column -1 for some findings (on nodes it made itself); that made a
    Diagnostic with column 0, which failed validation and turned the check into T198 (found
    by a red-team run over sessions split from the corpora)."""
    from engine.typecheck.checker import _diagnostics

    message = json.dumps({"file": "/x/codeact_snippet.py", "line": 3, "column": -1,
                          "end_line": 3, "end_column": -1, "severity": "error",
                          "message": 'Name "f" already defined on line 1', "code": "no-redef",
                          "hint": None})
    found = _diagnostics([message], "a = 1\nb = 2\n", 1, 2, "/x/codeact_snippet.py")
    assert [(d.line, d.column, d.end_column) for d in found] == [(2, 1, None)]

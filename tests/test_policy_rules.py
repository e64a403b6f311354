"""Each policy rule fires with its code and location, and legal code passes."""

from __future__ import annotations

import pytest

from engine import Engine, Policy, SessionContext, Stage, StageStatus, ToolRegistry, tool
from engine.typecheck.context import Binding
from tests.conftest import codes_of, only

# (snippet, code, line, column) -- the first diagnostic with that code must be at line:column.
VIOLATIONS = [
    # imports
    ("import os", "P101", 1, 8),
    ("import json, subprocess", "P101", 1, 14),
    ("from socket import socket", "P101", 1, 6),
    ("import json.decoder", "P102", 1, 8),
    ("from json import decoder", "P102", 1, 18),
    ("from . import tools", "P103", 1, 1),
    ("from json import _default_decoder", "P104", 1, 18),
    ("x = 1\nimport importlib as il", "P101", 2, 8),
    # names
    ("data = open('/etc/passwd')", "P110", 1, 8),
    ("f = eval", "P110", 1, 5),
    ("print(getattr(1, 'real'))", "P110", 1, 7),
    ("g = globals()", "P110", 1, 5),
    ("print(undefined_thing)", "P110", 1, 7),
    ("x = open('a')\nopen = 1", "P110", 1, 5),
    ("b = __builtins__", "P111", 1, 5),
    ("__import__('os')", "P111", 1, 1),
    ("__name__ = 'x'", "P111", 1, 1),
    # attributes
    ("x = ().__class__", "P120", 1, 8),
    ("f = (lambda: 0).__globals__", "P120", 1, 17),
    ("s = [].__class__.__mro__", "P120", 1, 8),
    ("g = (x for x in [])\nf = g.gi_frame", "P121", 2, 7),
    ("g = (x for x in [])\nc = g.gi_code", "P121", 2, 7),
    ("def f():\n    pass\nn = f.mro", "P121", 3, 7),
    ("import re\nc = re._compiler", "P122", 2, 8),
    ("import math\nmath.pi = 3", "P123", 2, 1),
    ("import math\nmath.tau += 1", "P123", 2, 1),
    ("import json\nd = json.decoder", "P102", 2, 10),
    ("import json as j\nd = j.decoder.scanstring", "P102", 2, 7),
    # look-alikes
    ("ｏｐｅｎ('x')", "P112", 1, 1),
    ("x = 1\nprint(x.__ｃｌａｓｓ__)", "P112", 2, 9),
    # syntax kinds
    ("x = 0\ndef f():\n    global x\n    x = 1", "P130", 3, 5),
    ("def f():\n    y = 0\n    def g():\n        nonlocal y\n        y = 1", "P130", 4, 9),
    ("global x", "P130", 1, 1),
    ("async def f():\n    pass", "P130", 1, 1),
    ("def f():\n    yield 1", "P130", 2, 5),
    ("from math import *", "P130", 1, 1),
    # format strings
    ("x = 1\ns = '{0.__class__}'.format(x)", "P140", 2, 5),
    ("x = {}\ns = '{0[k]}'.format(x)", "P140", 2, 5),
    ("x = 1\ns = '{a:{b.c}}'.format(a=x, b=x)", "P140", 2, 5),
    ("t = '{0}'\ns = t.format(1)", "P141", 2, 7),
    ("s = str.format('{0}', 1)", "P141", 1, 9),
    ("f = '{0}'.format\nf(1)", "P141", 1, 11),
    # sizes
    ("x = 10**10**10", "P152", 1, 5),
    ("s = 'a' * 10**9", "P152", 1, 5),
    ("s = [0] * 10**9", "P152", 1, 5),
    ("n = 1 << 10**10", "P152", 1, 5),
    ("b = b'ab' * (10**8)", "P152", 1, 5),
]

LEGAL = [
    "users = get_all_users()\nactive = [u for u in users if u.active]\nprint(len(active))",
    "import math\nprint(math.sqrt(16))",
    "from collections import Counter\nc = Counter(u.address.country for u in get_all_users())",
    "import json\ns = json.dumps({'a': [1, 2]})\nprint(json.loads(s))",
    "from itertools import islice\nprint(list(islice(range(10), 3)))",
    "def score(u):\n    return len(u.name)\nprint(max(get_all_users(), key=score).name)",
    "total = 0\nfor u in get_all_users():\n    if not u.active:\n        total += 1\nprint(total)",
    "try:\n    x = 1 / 0\nexcept ZeroDivisionError as e:\n    print('no', e)",
    "s = '{0} and {name}'.format(1, name='x')\nprint(s)",
    "d = {'a': 1}\ns = '{a}'.format_map(d)",
    "x = 10**6\ny = 'ab' * 1000\nz = [0] * 1000",
    "u = get_user(1)\nif u is not None:\n    print(u.address.city)",
    "names = sorted({u.name for u in get_all_users()})[:5]\nprint(names)",
    "rows = [[1, 2], [3]]\nflat = [x for row in rows for x in row if x > 1]\nprint(flat)",
    "rows = [[1, 2], [3]]\nd = {x: r for r in rows if r for x in r if x}\nprint(d)",
    "f = lambda u: u.id\nprint(f(get_all_users()[0]))",
    "open = print\nopen('shadowing a forbidden builtin after binding it is fine')",
    "final_answer(len(get_all_users()))",
    "x = Address(street='1 Main St', city='Haifa', country='IL')\nprint(x.city)",
    "print(f'{len(get_all_users()):,} users')",
    "import datetime\nprint(datetime.date(2025, 1, 1).isoformat())",
    "import re\nprint(re.findall(r'\\d+', 'a1b22'))",
]


@pytest.mark.parametrize(("snippet", "code", "line", "column"),
                         VIOLATIONS)
def test_rule_fires_with_code_and_location(
    policy_only: Engine, snippet: str, code: str, line: int, column: int
) -> None:
    report = policy_only.check(snippet)
    assert not report.ok
    assert report.failed_stage is Stage.POLICY
    found = only(report, code)
    assert (found.line, found.column) == (line, column), found
    assert found.stage is Stage.POLICY
    assert found.source_line == snippet.splitlines()[line - 1]
    assert found.hint, "every policy diagnostic carries a hint"


@pytest.mark.parametrize("snippet", LEGAL)
def test_legal_code_passes(policy_only: Engine, snippet: str) -> None:
    report = policy_only.check(snippet)
    assert report.ok, [(d.code, d.message) for d in report.diagnostics]


def test_every_violation_is_reported_not_just_the_first(policy_only: Engine) -> None:
    snippet = "import os\nx = open('f')\ny = ().__class__\ndef f():\n    global z\n"
    assert codes_of(policy_only.check(snippet)) == ["P101", "P110", "P120", "P130"]


def test_open_hint_names_files_and_a_tool_that_can_read() -> None:
    @tool
    def read_report(name: str) -> str:
        """Read a stored report by name."""
        return name

    engine = Engine([read_report], check_types=False)
    hint = only(engine.check("text = open('q3.txt').read()"), "P110").hint or ""
    assert "files are not available" in hint
    assert "read_report(...)" in hint


def test_import_hint_lists_allowed_modules(policy_only: Engine) -> None:
    hint = only(policy_only.check("import requests"), "P101").hint or ""
    assert "network" in hint
    assert "allowed modules are: " in hint and "math" in hint


def test_misspelled_tool_gets_did_you_mean(policy_only: Engine) -> None:
    hint = only(policy_only.check("users = get_all_user()"), "P110").hint or ""
    assert "`get_all_users`" in hint


def test_names_from_earlier_snippets_are_readable(policy_only: Engine) -> None:
    context = SessionContext((Binding("active", "value", "list[_t.User]"),))
    assert not policy_only.check("print(len(active))").ok
    assert policy_only.check("print(len(active))", context=context).ok


def test_module_imported_by_an_earlier_snippet_is_still_policed(policy_only: Engine) -> None:
    context = SessionContext((Binding("j", "module", "json"),))
    report = policy_only.check("print(j.decoder)", context=context)
    assert only(report, "P102").line == 1


def test_rebound_alias_is_not_treated_as_a_module(policy_only: Engine) -> None:
    # `json` is rebound to a dict: `.decoder` is then a key lookup gone wrong, not a module.
    report = policy_only.check("import json\njson = {'decoder': 1}\nprint(json.get('decoder'))")
    assert report.ok


def test_dunder_attribute_can_be_allowed_by_policy() -> None:
    policy = Policy.from_toml(
        'extends = "default"\n[attributes]\nallow_dunder = ["__name__"]\n'
    )
    engine = Engine([], policy, check_types=False)
    assert engine.check("def f():\n    pass\nprint(f.__name__)").ok
    assert not engine.check("def f():\n    pass\nprint(f.__qualname__)").ok


def test_private_attributes_can_be_allowed_by_policy() -> None:
    policy = Policy.from_toml('extends = "default"\n[attributes]\nallow_private = true\n')
    engine = Engine([], policy, check_types=False)
    assert engine.check("import re\nx = re.compile('a')\nprint(x._x)" ).ok


def test_strict_policy_refuses_any_import_and_lambdas() -> None:
    engine = Engine([], "strict", check_types=False)
    assert set(codes_of(engine.check("import math"))) == {"P101", "P130"}
    assert codes_of(engine.check("f = lambda: 1")) == ["P130"]


def test_data_policy_allows_decimal_and_csv() -> None:
    engine = Engine([], "data", check_types=False)
    assert engine.check("import decimal, csv\nprint(decimal.Decimal('1.1'))").ok
    assert not Engine([], "default", check_types=False).check("import decimal").ok


def test_size_limits_nodes_and_depth() -> None:
    policy = Policy.from_toml(
        'extends = "default"\n[limits]\nmax_nodes = 50\nmax_depth = 20\nmax_source_bytes = 400\n'
    )
    engine = Engine([], policy, check_types=False)
    # Counted on CPython's tree, before LibCST or mypy see the snippet.
    assert codes_of(engine.check("x = [" + ", ".join(["1"] * 60) + "]")) == ["P150"]
    assert engine.check("x = [" + ", ".join(["1"] * 40) + "]").ok
    deep = engine.check("x = " + "[" * 25 + "1" + "]" * 25)
    assert codes_of(deep) == ["P151"]
    assert deep.stage(Stage.POLICY).status is StageStatus.FAILED
    assert engine.check("x = " + "[" * 10 + "1" + "]" * 10).ok
    too_big = engine.check("x = 1\n" * 100)
    assert codes_of(too_big) == ["P100"]
    assert too_big.stage(Stage.PARSE) is not None


def test_shadowing_builtin_inside_function_is_local(policy_only: Engine) -> None:
    snippet = "def f():\n    open = 3\n    return open\nprint(f())"
    assert policy_only.check(snippet).ok


def test_comprehension_variables_and_class_free_code(policy_only: Engine) -> None:
    snippet = "pairs = {(a, b) for a in range(3) for b in range(a)}\nprint(len(pairs))"
    assert policy_only.check(snippet).ok


def test_tool_models_are_usable_names() -> None:
    registry = ToolRegistry([])
    engine = Engine(registry, check_types=False)
    # without tools, model names are not available either
    assert "P110" in codes_of(engine.check("x = User"))


EVERYDAY_MODULES = [
    "import time\nstart = time.perf_counter()\ntime.sleep(0.001)\n"
    "print(time.perf_counter() >= start, time.strftime('%Y', time.gmtime(0)))",
    "import string\nprint(string.ascii_lowercase[:3], string.Template('$n!').substitute(n=2))",
    "import stat\nprint(stat.S_ISDIR(0o040755), stat.filemode(0o100644))",
    "from typing import Optional, NamedTuple\nP = NamedTuple('P', [('x', int)])\n"
    "def f(v: Optional[int]) -> int:\n    return v or 0\nprint(f(None), P(3).x)",
    "import operator\nfrom functools import reduce\nprint(reduce(operator.mul, [1, 2, 3, 4]))",
]


@pytest.mark.parametrize("source", EVERYDAY_MODULES)
def test_everyday_modules_run_on_the_default_policy(source: str) -> None:
    with Engine((), "default") as engine:
        result = engine.run(source)
    assert result.ok, result.diagnostics
    assert result.stdout


@pytest.mark.parametrize(("source", "name", "advice"), [
    ("import operator\nkey = operator.attrgetter('name')", "attrgetter", "lambda"),
    ("from operator import methodcaller", "methodcaller", "lambda"),
    ("import string\nf = string.Formatter()", "Formatter", "f-string"),
    ("from typing import get_type_hints", "get_type_hints", "not evaluated"),
])
def test_string_named_attribute_helpers_are_refused_with_what_to_write(
        policy_only: Engine, source: str, name: str, advice: str) -> None:
    finding = only(policy_only.check(source), "P121")
    assert name in finding.message
    assert finding.hint is not None and advice in finding.hint


ORDINARY_CLASSES = [
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n"
    "    def __repr__(self):\n        return f'Point({self.x}, {self.y})'\n"
    "    def __eq__(self, other):\n        return isinstance(other, Point) and self.x == other.x\n"
    "    def __add__(self, other):\n        return Point(self.x + other.x, self.y + other.y)\n"
    "print(Point(1, 2) + Point(3, 4))",
    "class Base:\n    def __init__(self, name):\n        self.name = name\n"
    "class Child(Base):\n    def __init__(self, name, age):\n        super().__init__(name)\n"
    "        self.age = age\nprint(Child('a', 3).age)",
    "from dataclasses import dataclass, field\n@dataclass(order=True)\nclass Item:\n"
    "    name: str\n    tags: list[str] = field(default_factory=list)\n"
    "print(Item('a') < Item('b'), Item('a'))",
    "import enum\nclass Color(enum.Enum):\n    RED = 1\n    GREEN = 2\n"
    "Size = enum.IntEnum('Size', 'S M L')\nprint(Color.RED.name, Size.M.value)",
    "class Timer:\n    def __enter__(self):\n        return self\n"
    "    def __exit__(self, *exc):\n        return False\nwith Timer() as t:\n    print('in')",
    "class NotFound(KeyError):\n    pass\ntry:\n    raise NotFound('x')\n"
    "except KeyError as e:\n    print('caught', e)",
    "class Temp:\n    def __init__(self, c):\n        self.c = c\n    @property\n"
    "    def f(self):\n        return self.c * 9 / 5 + 32\n    @staticmethod\n"
    "    def zero():\n        return Temp(0)\n    @classmethod\n    def boiling(cls):\n"
    "        return cls(100)\nprint(Temp.zero().f, Temp.boiling().f)",
    "from typing import NamedTuple\nclass Pair(NamedTuple):\n    a: int\n    b: int\n"
    "print(Pair(1, 2).b)",
    "class Counter:\n    total = 0\n    def bump(self):\n        Counter.total += 1\n"
    "Counter().bump()\nprint(Counter.total)",
]


@pytest.mark.parametrize("source", ORDINARY_CLASSES)
def test_ordinary_classes_run_on_the_default_policy(source: str) -> None:
    with Engine((), "default") as engine:
        result = engine.run(source)
    assert result.ok, [(d.code, d.message) for d in result.diagnostics]
    assert result.stdout


@pytest.mark.parametrize(("source", "code", "hint"), [
    ("class A(metaclass=type):\n    pass", "P131", "Remove the keyword"),
    ("class S(str):\n    pass", "P132", "your own classes"),
    ("import json\nclass D(json.JSONDecoder):\n    pass", "P132", "your own classes"),
    ("class G:\n    def __getattr__(self, name):\n        return 1", "P133", "ordinary method"),
    ("class G:\n    __slots__ = ('a',)", "P133", "ordinary method"),
    ("class A:\n    def f(self):\n        return super(A, self)", "P134", "without arguments"),
    ("import enum\nnames = 'A B'\nE = enum.Enum('E', names)", "P135", "string literal"),
])
def test_class_features_beyond_ordinary_are_refused_with_a_hint(
        policy_only: Engine, source: str, code: str, hint: str) -> None:
    finding = only(policy_only.check(source), code)
    assert finding.hint is not None and hint in finding.hint


def test_a_base_must_still_hold_the_class_it_was_given() -> None:
    with Engine((), "default", check_types=False) as engine:
        report = engine.check("class A:\n    pass\nA = dict\nclass B(A):\n    pass")
    assert codes_of(report) == ["P132"]


def test_namedtuple_underscore_api_is_allowed_by_name(policy_only: Engine) -> None:
    assert policy_only.check(
        "from collections import namedtuple\nP = namedtuple('P', 'x y')\np = P(1, 2)\n"
        "print(p._replace(x=5), p._asdict(), P._fields, P._make([3, 4]))").ok
    assert codes_of(policy_only.check("x = [1]\nprint(x._private)")) == ["P122"]

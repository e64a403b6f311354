"""``self._x`` inside a class's own methods: allowed, and only on the class's own objects.

The static side (engine/policy/receivers.py) decides which private reads are a method's reads
of its own receiver; the sandbox side (engine/sandbox/receivers.py) makes a method taken out
of its class refuse a receiver the snippet did not make. Each is attacked here on its own;
the corpus's ``classes-receiver-*`` entries attack both through the full pipeline and with
the static checks off.
"""

from __future__ import annotations

import pytest

from engine import Engine
from engine.sandbox.limits import unavailable_reason
from engine.sandbox.receivers import guard_class
from tests.conftest import codes_of, only

needs_sandbox = pytest.mark.skipif(unavailable_reason() is not None,
                                   reason="seccomp unavailable")

COUNTER = '''
class Counter:
    def __init__(self, start: int = 0) -> None:
        self._n = start
        self.__step = 1
    def bump(self) -> int:
        self._n += self.__step
        return self._n
    @property
    def value(self) -> int:
        return self._n
    @value.setter
    def value(self, v: int) -> None:
        self._n = v
    @classmethod
    def zero(cls) -> "Counter":
        return cls(cls._origin())
    @classmethod
    def _origin(cls) -> int:
        return 0
    def _helper(self) -> list[int]:
        return [self._n for _ in range(2)]
    def pair(self) -> list[int]:
        return self._helper()
c = Counter.zero()
c.bump()
c.value = c.value + 10
final_answer([c.value, c.bump(), Counter.bump(c), c.pair()])
'''




@needs_sandbox
def test_a_class_keeps_its_state_in_private_attributes() -> None:
    with Engine((), "default") as engine:
        result = engine.run(COUNTER)
    assert result.ok, result.diagnostics
    assert result.value == [11, 12, 13, [13, 13]]


@pytest.mark.parametrize("source", [
    "class A:\n    pass\na = A()\na._x = 1",  # outside any method
    "class A:\n    @staticmethod\n    def f(o):\n        return o._x",
    "class A:\n    def f(self, other):\n        return other._x",  # not the receiver
    "class A:\n    def f(self):\n        return [s._x for s in [self]]",
    "class A:\n    def f(self):\n        g = lambda s: s._x\n        return g(self)",
    "def f(self):\n    return self._x",  # a function, not a method
    "class A:\n    def f(*args):\n        return args[0]._x",
    "class A:\n    if True:\n        def f(self):\n            return self._x",
    "import enum\nclass E(enum.Enum):\n    A = 1\n    def f(self):\n        return self._value_",
])
def test_private_reads_other_than_a_methods_own_receiver_are_refused(
        policy_only: Engine, source: str) -> None:
    assert "P122" in codes_of(policy_only.check(source))


@pytest.mark.parametrize(("binding", "why"), [
    ("self = 1", "rebound"),
    ("self += 1", "rebound"),
    ("for self in []: pass", "rebound"),
    ("with open_thing() as self: pass", "rebound"),
    ("[(self := 1) for _ in ()]", "rebound"),
    ("match 1:\n            case self: pass", "rebound"),
    ("match 1:\n            case [*self]: pass", "rebound"),
    ("match 1:\n            case {**self}: pass", "rebound"),
    ("match 1:\n            case int() as self: pass", "rebound"),
    ("try:\n            pass\n        except Exception as self:\n            pass", "rebound"),
    ("import json as self", "rebound"),
    ("from json import loads as self", "rebound"),
    ("def self(): pass", "rebound"),
    ("class self: pass", "rebound"),
    ("del self", "rebound"),
    ("def inner(self): pass", "rebound"),
])
def test_a_receiver_bound_again_anywhere_in_the_method_loses_the_allowance(
        policy_only: Engine, binding: str, why: str) -> None:
    source = f"class A:\n    def f(self):\n        {binding}\n        return self._x\n"
    finding = only(policy_only.check(source), "P122")
    assert finding.hint is not None and why in finding.hint
    assert finding.line == source.splitlines().index("        return self._x") + 1


@pytest.mark.parametrize(("decorator", "hint"), [
    ("staticmethod", "static method"),
    ("keep", "decorator other than"),
    ("functools.cached_property", "decorator other than"),
])
def test_decorators_that_could_take_the_plain_function_lose_the_allowance(
        policy_only: Engine, decorator: str, hint: str) -> None:
    source = (f"import functools\ndef keep(f):\n    return f\nclass A:\n    @{decorator}\n"
              "    def f(self):\n        return self._x\n")
    finding = only(policy_only.check(source), "P122")
    assert finding.hint is not None and hint in finding.hint


def test_a_shadowed_property_is_not_the_builtin(policy_only: Engine) -> None:
    source = ("def property(f):\n    return f\nclass A:\n    @property\n"
              "    def v(self):\n        return self._x\n")
    finding = only(policy_only.check(source), "P122")
    assert finding.hint is not None and "not the builtin" in finding.hint
    with policy_only.session() as session:
        assert session.run("property = len").ok
        later = session.check("class A:\n    @property\n    def v(self):\n"
                              "        return self._x\n")
        assert "P122" in codes_of(later)


def test_a_setter_counts_only_on_this_classs_property(policy_only: Engine) -> None:
    ok = ("class A:\n    @property\n    def v(self):\n        return self._x\n"
          "    @v.setter\n    def v(self, new):\n        self._x = new\n")
    assert policy_only.check(ok).ok
    # `v` is something else in the class body: its `.setter` could be anything
    other = ("class A:\n    v = object()\n    @v.setter\n    def v(self, new):\n"
             "        self._x = new\n")
    assert "P122" in codes_of(policy_only.check(other))


@pytest.mark.parametrize("use", ["leaked = f", "f(1)", "items = [f]", "p = property(f)",
                                 "@f\n    def g(self): pass"])
def test_a_private_using_method_is_not_used_in_its_class_body(
        policy_only: Engine, use: str) -> None:
    source = f"class A:\n    def f(self):\n        return self._x\n    {use}\n"
    finding = only(policy_only.check(source), "P136")
    assert finding.line == 4 and finding.hint is not None


def test_positions_count_characters_not_bytes(policy_only: Engine) -> None:
    finding = only(policy_only.check("class A:\n    pass\na = A()\nx = ('é', a._y)"), "P122")
    assert (finding.line, finding.column) == (4, 13)
    # and an allowed read after a multibyte character on its line is still found allowed
    assert policy_only.check("class A:\n    def f(self):\n        return ('é', self._y)").ok


@needs_sandbox
@pytest.mark.parametrize("call", [
    "A.read(json)", "A.read(self=json)", "A.read(add_one)", "A.v.fget(json)",
    "A.read(launder(json))",
])
def test_the_sandbox_refuses_a_receiver_the_snippet_did_not_make(bare: Engine, call: str) -> None:
    source = ("import json\ndef launder(x):\n    return x\ndef add_one(x):\n    return x + 1\n"
              "class A:\n    def read(self):\n        return self._default_decoder\n"
              "    @property\n    def v(self):\n        return self._default_decoder\n"
              f"{call}\n")
    result = bare.run(source)
    assert codes_of(result) == ["R101"]
    assert "TypeError" in result.diagnostics[0].message, result.diagnostics[0].message


@needs_sandbox
def test_guarded_methods_still_work_on_the_snippets_own_objects(bare: Engine) -> None:
    source = ("import dataclasses\nclass A:\n    def __init__(self):\n        self._x = 1\n"
              "    def read(self):\n        return self._x\n"
              "class B(A):\n    def read(self):\n        return super().read() + 1\n"
              "@dataclasses.dataclass(slots=True)\nclass D:\n    x: int\n"
              "    def read(self):\n        return self.x + len(self.__slots__ if False else '')\n"
              "class Other:\n    _x = 5\n"
              "final_answer([A().read(), B().read(), A.read(B()), A.read(Other()), D(3).read()])")
    result = bare.run(source)
    assert result.ok, result.diagnostics
    assert result.value == [1, 2, 1, 5, 3]


def test_guard_class_leaves_methods_without_private_names_alone() -> None:
    namespace: dict[str, object] = {"__name__": "__snippet__"}
    exec("class A:\n    def plain(self):\n        return self.x\n"
         "    def private(self):\n        return self._x\n"
         "    def nested(self):\n        return [lambda: self._y]\n", namespace)
    cls = namespace["A"]
    assert isinstance(cls, type)
    plain, private, nested = (vars(cls)[n] for n in ("plain", "private", "nested"))
    guard_class(cls)
    assert vars(cls)["plain"] is plain
    assert vars(cls)["private"] is not private and vars(cls)["nested"] is not nested
    with pytest.raises(TypeError, match="uses private attributes"):
        cls.private(object())  # type: ignore[attr-defined]

"""The write barrier: attribute stores change only the snippet's own objects, at run time.

Found by the fifth red-team session: T130 decides from mypy's inferred type, which a snippet
can steer (``typing.cast``, a ``TypeGuard``, ``TYPE_CHECKING``, an ``Any`` as ``self``), so a
write reached ``json.JSONDecoder.decode`` and changed what later snippets ran. The child now
compiles every attribute store into a checked call (engine/sandbox/write_barrier.py).
"""

from __future__ import annotations

import ast

import pytest
from pydantic import BaseModel

from engine import Engine, ToolRegistry, tool
from engine.sandbox.child import _compile
from engine.sandbox.limits import unavailable_reason
from engine.sandbox.own_classes import register
from engine.sandbox.write_barrier import HELPERS, guard_writes
from tests.conftest import codes_of, only

needs_sandbox = pytest.mark.skipif(unavailable_reason() is not None,
                                   reason="seccomp unavailable")

STEERED = {
    "cast": "c = typing.cast(C, json.JSONDecoder)\nc.decode = evil",
    "typeguard": "def own(x: object) -> typing.TypeGuard[C]:\n    return True\n"
                 "m: object = json\nif own(m):\n    m.loads = evil",
    "type-checking": "if typing.TYPE_CHECKING:\n    o = C()\nelse:\n    o = json\no.loads = evil",
    "any-as-own": "def as_c(x: typing.Any) -> C:\n    return x\nas_c(json).loads = evil",
    "unbound-self": "shared: typing.Any = json\nC.put(shared, evil)",
    "augmented": "c = typing.cast(C, json.JSONDecoder)\nc.decode += evil",
    "deleted": "c = typing.cast(C, json.JSONDecoder)\ndel c.decode",
    "tuple-target": "c = typing.cast(C, json.JSONDecoder)\nc.decode, x = evil, 1",
}
PRELUDE = ("import json\nimport typing\nclass C:\n    decode: typing.Any\n    loads: typing.Any\n"
           "    def __init__(self) -> None:\n        self.decode = None\n"
           "        self.loads = None\n"
           "    def put(self, f: typing.Any) -> None:\n        self.loads = f\n"
           "def evil(*args: typing.Any) -> str:\n    return 'HIJACKED'\n")


@needs_sandbox
@pytest.mark.parametrize("name", sorted(STEERED))
def test_a_write_the_type_check_let_through_does_not_reach_a_shared_object(name: str) -> None:
    with Engine((), "default") as engine, engine.session() as session:
        attack = session.run(PRELUDE + STEERED[name])
        assert "cannot be changed" in only(attack, "R101").message
        later = session.run("import json\nprint(json.loads('[1]'), json.JSONDecoder().decode('2'))")
        assert later.ok and later.stdout == "[1] 2\n"


class User(BaseModel):
    name: str


@tool
def get_user(user_id: int) -> User:
    """A user."""
    return User(name=f"u{user_id}")


@needs_sandbox
def test_the_snippets_own_objects_and_the_tools_data_still_change() -> None:
    source = (
        "import dataclasses\n"
        "class Point:\n    def __init__(self):\n        self.x = 0\n"
        "    def move(self):\n        self.x += 1\n        self.__secret = 2\n"
        "        return self._Point__secret\n"
        "p = Point()\np.y = 5\nPoint.count = 1\nPoint.count += 1\n"
        "def f():\n    pass\nf.calls = 3\n"
        "@dataclasses.dataclass\nclass D:\n    v: int\nd = D(1)\nd.v = 2\n"
        "p.x = 3\n"
        "u = get_user(1)\nu.name = 'renamed'\n"
        "del p.y\n"
        "try:\n    p.y\n    gone = False\nexcept AttributeError:\n    gone = True\n"
        "final_answer([p.move(), p.x, Point.count, f.calls, d.v, u.name, gone])")
    with Engine(ToolRegistry([get_user]), "default", check_types=False) as engine:
        result = engine.run(source)
    assert result.ok, result.diagnostics
    assert result.value == [2, 4, 2, 3, 2, "renamed", True]


@needs_sandbox
@pytest.mark.parametrize("source", [
    "import json\nclass C:\n    pass\nc = C()\nc.__class__ = C",
    "def f():\n    pass\nf.__module__ = 'tools'",
    "def f():\n    pass\nf.__doc__ = 'x'",
])
def test_double_underscore_attributes_are_never_written(source: str) -> None:
    with Engine((), "default", check_types=False) as engine:
        # the policy refuses these statically; the barrier refuses them too
        assert "P120" in codes_of(engine.check(source))
    with Engine((), "default", check_policy=False, check_types=False) as bare:
        assert bare.run(source).ok  # with the policy off, the barrier is off: the kernel's turn


class Shared:
    value = 1


def test_assignment_evaluates_the_value_before_the_object() -> None:
    order: list[str] = []

    class Box:
        pass

    register(Box)
    box = Box()

    def obj() -> Box:
        order.append("object")
        return box

    def val() -> int:
        order.append("value")
        return 7

    body, _ = _compile("obj().x = val()")
    exec(body, {"__builtins__": {**HELPERS}, "obj": obj, "val": val})
    assert order == ["value", "object"] and box.x == 7  # type: ignore[attr-defined]


def test_loop_and_with_targets_store_through_the_barrier() -> None:
    class Box:
        def __enter__(self) -> str:
            return "entered"

        def __exit__(self, *exc: object) -> None:
            return None

    register(Box)
    box = Box()
    body, _ = _compile("for box.i in range(3):\n    seen.append(box.i)\n"
                       "with box as box.state:\n    pass\n")
    seen: list[int] = []
    exec(body, {"__builtins__": {**HELPERS, "range": range}, "box": box, "seen": seen})
    assert seen == [0, 1, 2] and box.state == "entered"  # type: ignore[attr-defined]
    body, _ = _compile("for s.value in range(3):\n    pass\n")
    with pytest.raises(AttributeError, match="cannot be changed"):
        exec(body, {"__builtins__": {**HELPERS, "range": range}, "s": Shared})


def test_the_barrier_refuses_what_is_not_the_snippets_own() -> None:
    body, _ = _compile("S.value = 2")
    with pytest.raises(AttributeError, match="cannot be changed"):
        exec(body, {"__builtins__": {**HELPERS}, "S": Shared})
    assert Shared.value == 1


def test_private_names_are_mangled_as_the_compiler_would() -> None:
    tree = guard_writes(ast.parse("class _Box:\n    def f(self):\n        self.__x = 1\n"
                                  "class __:\n    def g(self):\n        self.__y = 2\n"))
    text = ast.unparse(tree)
    assert "'_Box__x'" in text and "'__y'" in text


def test_every_store_form_goes_through_the_barrier() -> None:
    source = ("a.b = 1\na.b = c.d = 2\na.b, [c.d, *e.f] = 1, [2, 3]\na.b += 1\na.b: int = 3\n"
              "del a.b, x\nfor a.b in []:\n    pass\nwith m as a.b:\n    pass\n")
    text = ast.unparse(guard_writes(ast.parse(source)))
    stores = [n for n in ast.walk(ast.parse(text))
              if isinstance(n, ast.Attribute) and not isinstance(n.ctx, ast.Load)]
    assert stores == []
    assert text.count("__cx_setattr__") == 9 and "__cx_augattr__" in text
    assert "__cx_delattr__" in text


@needs_sandbox
def test_a_finalizer_cannot_be_made_to_call_a_tool_in_a_later_snippet() -> None:
    calls: list[str] = []

    @tool
    def record(message: str) -> str:
        """Record a message."""
        calls.append(message)
        return "ok"

    first = ("import enum\nimport typing\nE: typing.Any = enum.Enum\n"
             "def fin(self: object) -> None:\n    record('from a finalizer')\n"
             "X = E('X', {'A': 1, '__del__': fin})\nX = None\n")
    with Engine(ToolRegistry([record]), "default") as engine, engine.session() as session:
        assert "member name" in only(session.run(first), "R101").message
        later = session.run("rows = [[i] for i in range(100000)]\nprint(len(rows))")
    assert later.ok and later.tool_calls == () and calls == []


@needs_sandbox
def test_an_enums_members_are_its_own_while_the_class_statement_makes_them() -> None:
    """Enum members are made, and their __init__ run, before the class statement returns."""
    source = ("import enum\nimport json\nimport typing\n"
              "class Planet(enum.Enum):\n    EARTH = (5.97e24, 6.37e6)\n"
              "    def __init__(self, mass: float, radius: float) -> None:\n"
              "        self.mass = mass\n        shared: typing.Any = json\n"
              "        if radius < 0:\n            shared.loads = None\n"
              "final_answer(Planet.EARTH.mass)")
    # types off: mypy would refuse the write to an Any (T130); the barrier is what is tested
    with Engine((), "default", check_types=False) as engine:
        assert engine.run(source).value == 5.97e24
        attack = engine.run(source.replace("EARTH = (5.97e24, 6.37e6)",
                                           "EARTH = (5.97e24, -1.0)"))
    assert "cannot be changed" in only(attack, "R101").message


WALK = r"""
import collections, sys, types
from engine import Policy, ToolRegistry
from engine.sandbox.child import ChildTemplate
from engine.sandbox.spec import build_spec

sandbox = ChildTemplate(build_spec(ToolRegistry(), Policy.load("default")))
mutable = (dict, list, set, bytearray, collections.deque)
seen, found = set(), []

def walk(obj, path, depth):
    if id(obj) in seen or depth > 4:
        return
    seen.add(id(obj))
    if isinstance(obj, mutable):
        found.append(path)
        return
    if isinstance(obj, (int, str, float, bytes, complex, bool, type(None))):
        return
    try:
        names = dir(obj)
    except Exception:
        return
    for name in names:
        if name.startswith("_"):
            continue
        try:
            value = getattr(obj, name)
        except Exception:
            continue
        if not isinstance(value, types.ModuleType):
            walk(value, f"{path}.{name}", depth + 1)

for module, view in sandbox.views.items():
    for name, value in vars(view).items():
        if not name.startswith("_") and not isinstance(value, types.ModuleType):
            walk(value, f"{module}.{name}", 1)
# a regular expression's groupindex is a new dict on every read: nothing shared
print("\n".join(p for p in found if not p.endswith(".groupindex")))
"""


def test_no_module_view_hands_out_a_shared_mutable_container() -> None:
    """Found by the sixth red team: a dict on textwrap.TextWrapper and typing's
    EXCLUDED_ATTRIBUTES list were shared, writable through a subscript or a method."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", WALK], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""

"""``type(x)``, ``x.__name__`` and what modules re-export: everyday introspection, no more.

``type`` answers with one argument only and only with classes a snippet could name anyway
(engine/sandbox/type_of.py); ``__name__``/``__doc__`` are read-only (``read_dunder``);
metaclasses and interpreter types that allowed modules re-export are neither in the policy
nor in the sandbox's module views (engine/policy/modules.py ``hidden_reason``).
"""

from __future__ import annotations

import pytest

from engine import Engine, Policy
from engine.sandbox.limits import unavailable_reason
from engine.sandbox.type_of import make_type_of, reachable_classes
from tests.conftest import codes_of, only

needs_sandbox = pytest.mark.skipif(unavailable_reason() is not None,
                                   reason="seccomp unavailable")




@needs_sandbox
def test_everyday_introspection_runs(full: Engine) -> None:
    source = (
        "import datetime\n"
        "class V:\n    def __init__(self, x):\n        self.x = x\n"
        "    def __add__(self, other):\n        return type(self)(self.x + other.x)\n"
        "def f():\n    'Doc.'\n"
        "try:\n    int('x')\nexcept Exception as err:\n    kind = type(err).__name__\n"
        "final_answer([kind, (V(1) + V(2)).x, type(3) is int, type(None) is type(None),\n"
        "              type(datetime.date.today()).__name__, f.__name__, f.__doc__])")
    result = full.run(source)
    assert result.ok, result.diagnostics
    assert result.value == ["ValueError", 3, True, True, "date", "f", "Doc."]


@pytest.mark.parametrize("source", [
    "X = type('X', (), {})", "X = type('X', (object,), dict())", "t = type(*[1])",
    "t = type(object=1)",
])
def test_type_with_other_than_one_argument_is_refused(full: Engine, source: str) -> None:
    assert "P137" in codes_of(full.check(source))


@needs_sandbox
@pytest.mark.parametrize(("value", "kind"), [
    ("int", "type"), ("print", "builtin_function_or_method"), ("json", "module"),
    ("lambda: 0", "function"), ("(i for i in [])", "generator"), ("super", "type"),
    ("[].append", "builtin_function_or_method"),
])
def test_type_of_a_value_whose_class_no_snippet_can_name_is_refused(
        bare: Engine, value: str, kind: str) -> None:
    result = bare.run(f"import json\nprint(type({value}))")
    finding = only(result, "R101")
    assert f"type() of a {kind!r} value is not available" in finding.message


@needs_sandbox
def test_a_saved_type_still_takes_one_argument(bare: Engine) -> None:
    result = bare.run("t = type\nt('X', (), {})")
    assert "takes exactly one argument" in only(result, "R101").message


def test_reachable_classes_never_include_a_metaclass() -> None:
    import enum

    reachable = reachable_classes([int, str, type, enum.EnumType, enum.Enum])
    assert type not in reachable and enum.EnumType not in reachable
    type_of = make_type_of(reachable)
    assert type_of(3) is int and type_of(None) is type(None)
    with pytest.raises(TypeError):
        type_of(enum.Enum)  # its class is EnumType


@pytest.mark.parametrize(("source", "code"), [
    ("def f():\n    pass\nf.__name__ = 'g'", "P120"),
    ("def f():\n    pass\nf.__doc__ += 'x'", "P120"),
    ("def f():\n    pass\ndel f.__doc__", "P120"),
    ("def f():\n    pass\nprint(f.__qualname__)", "P120"),
    ("__name__ = 'tools'", "P111"),
])
def test_read_only_dunders_are_never_written_or_bound(full: Engine, source: str,
                                                      code: str) -> None:
    assert code in codes_of(full.check(source))


def test_strict_reads_no_dunder() -> None:
    with Engine((), Policy.load("strict"), check_types=False) as strict:
        assert "P120" in codes_of(strict.check("x = 1\nprint(x.__doc__)"))


@pytest.mark.parametrize("source", [
    "import typing\nprint(typing.ABCMeta)", "from typing import NamedTupleMeta",
    "import enum\nprint(enum.EnumMeta)", "from enum import EnumType",
    "import dataclasses\nprint(dataclasses.FunctionType)",
    "from contextlib import MethodType", "import enum as e\nprint(e.MappingProxyType)",
    "import functools\nprint(functools.GenericAlias)",
])
def test_metaclasses_and_re_exported_interpreter_types_are_refused(
        full: Engine, source: str) -> None:
    finding = only(full.check(source), "P121")
    assert finding.hint is not None and ("metaclass" in finding.hint
                                         or "interpreter type" in finding.hint)


@needs_sandbox
@pytest.mark.parametrize(("module", "attribute"), [
    ("typing", "ABCMeta"), ("enum", "EnumType"), ("dataclasses", "FunctionType"),
    ("contextlib", "MethodType"),
])
def test_module_views_hold_no_metaclass_or_interpreter_type(
        bare: Engine, module: str, attribute: str) -> None:
    result = bare.run(f"import {module}\nprint({module}.{attribute})")
    assert "has no attribute" in only(result, "R101").message
    kept = bare.run("import typing\nimport enum\nprint(typing.Text('x'), enum.Enum.__name__)")
    assert kept.ok and kept.stdout == "x Enum\n"

"""One table says what a tool may take and return; registration, stubs and the sandbox follow
it. A tool returning a combination of ``enum.Flag`` members once registered and type-checked,
then failed in the sandbox (R101 ``Input should be 1 or 2``): the sandbox knew fewer enum kinds
than the stubs."""

from __future__ import annotations

import decimal
import enum
import uuid
from collections.abc import Iterator

import pytest

from engine import Engine, ToolRegistry
from engine.errors import ToolDefinitionError
from engine.sandbox.spec import build_spec, build_types
from engine.tools import Tool
from engine.tooltypes import ENUM_KINDS, SCALARS, enum_kind


class Perm(enum.Flag):
    R = 1
    W = 2
    X = 4


class Mode(enum.IntFlag):
    READ = 1
    WRITE = 2


class Color(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    LOW = 1


class Shape(enum.Enum):
    SQUARE = "square"


ACCOUNT = uuid.UUID("12345678-1234-5678-1234-567812345678")


def permissions(path: str) -> Perm:
    """The permissions of a path."""
    return Perm.R | Perm.W


def mode_of(path: str) -> Mode:
    """The mode of a path."""
    return Mode.READ | Mode.WRITE


def grant(perm: Perm) -> list[str]:
    """Which permissions were granted."""
    return [m.name or "" for m in Perm if m in perm]


def account_id(name: str) -> uuid.UUID:
    """The id of an account."""
    return ACCOUNT


def balance(account: uuid.UUID) -> decimal.Decimal:
    """The balance of an account, exactly."""
    return decimal.Decimal("10.25") if account == ACCOUNT else decimal.Decimal(0)


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with Engine(ToolRegistry([permissions, mode_of, grant, account_id, balance]),
                "default") as eng:
        yield eng


def test_flag_combinations_cross_into_the_sandbox_and_back(engine: Engine) -> None:
    result = engine.run("p = permissions('/tmp')\nm = mode_of('/tmp')\n"
                        "final_answer([p.value, m.value, grant(p), grant(Perm.X)])")
    assert result.ok, result.diagnostics
    assert result.value == [3, 3, ["R", "W"], ["X"]]


def test_uuid_and_decimal_arguments_and_results(engine: Engine) -> None:
    result = engine.run("a = account_id('ada')\nprint(a)\nfinal_answer(str(balance(a)))")
    assert result.ok, result.diagnostics
    assert result.value == "10.25" and result.stdout == f"{ACCOUNT}\n"
    assert "def account_id(name: str) -> uuid.UUID:" in engine.stubs
    assert "import uuid" in engine.stubs
    wrong = engine.check("balance('not an id')")
    assert [d.code for d in wrong.diagnostics] == ["T101"]


def test_each_enum_kind_is_rendered_and_rebuilt_as_itself() -> None:
    def pick(color: Color, level: Level, shape: Shape, mode: Mode, perm: Perm) -> None:
        """Pick."""

    registry = ToolRegistry([pick])
    with Engine(registry, "default") as eng:
        spec = build_spec(registry, eng.policy)
    rebuilt = build_types(spec)
    for cls in (Color, Level, Shape, Mode, Perm):
        assert enum_kind(cls) == next(e.base for e in spec.enums if e.name == cls.__name__)
        assert issubclass(rebuilt[cls.__name__], dict(ENUM_KINDS)[enum_kind(cls)])
    assert rebuilt["Perm"](3) == rebuilt["Perm"].R | rebuilt["Perm"].W


def test_every_scalar_of_the_table_registers() -> None:
    for scalar in SCALARS:
        def echo(value):  # type: ignore[no-untyped-def]
            return value

        echo.__annotations__ = {"value": scalar.type, "return": scalar.type}
        assert Tool(echo).return_type is scalar.type


def test_an_unsupported_type_is_refused_with_the_list() -> None:
    def opener(path: str) -> complex:
        """Not supported."""
        return 1j

    with pytest.raises(ToolDefinitionError) as info:
        Tool(opener)
    message = str(info.value)
    assert "uuid.UUID" in message and "decimal.Decimal" in message and "Flag" in message

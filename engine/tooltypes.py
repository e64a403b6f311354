"""What a tool may take and return: the one table of scalar types and enum kinds.

Registration (``engine.tools``) refuses what is not here, the stubs (``engine.stubs``) render
it, and the sandbox (``engine.sandbox.spec``) rebuilds it in a process that never imports the
host's modules. Those three once kept lists of their own and disagreed (a tool returning an
``enum.Flag`` value registered and type-checked, then failed in the sandbox); adding a type is
now one line here.

The modules named here are imported by this module, so the sandbox's zygote has them loaded
before it seals its children (a sealed child cannot import).
"""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from dataclasses import dataclass
from types import ModuleType
from typing import Literal


@dataclass(frozen=True)
class Scalar:
    """A type a tool signature may use directly, and how stub source names it."""

    type: type
    text: str
    module: ModuleType | None = None  # the module the text refers to, if any


SCALARS: tuple[Scalar, ...] = (
    Scalar(int, "int"),
    Scalar(float, "float"),
    Scalar(str, "str"),
    Scalar(bool, "bool"),
    Scalar(bytes, "bytes"),
    Scalar(datetime.date, "datetime.date", datetime),
    Scalar(datetime.datetime, "datetime.datetime", datetime),
    Scalar(datetime.time, "datetime.time", datetime),
    Scalar(datetime.timedelta, "datetime.timedelta", datetime),
    Scalar(decimal.Decimal, "decimal.Decimal", decimal),
    Scalar(uuid.UUID, "uuid.UUID", uuid),
)

SCALAR_TYPES: tuple[type, ...] = tuple(s.type for s in SCALARS)
SCALAR_TEXT: dict[type, str] = {s.type: s.text for s in SCALARS}

#: The modules stub source and rebuilt annotations refer to, by name.
TYPE_MODULES: dict[str, ModuleType] = {
    m.__name__: m for m in dict.fromkeys(s.module for s in SCALARS if s.module is not None)}

EnumKind = Literal["IntFlag", "Flag", "StrEnum", "IntEnum", "Enum"]

#: Enum bases a tool's enum may have, most specific first: ``IntFlag`` is a ``Flag``, and a
#: member of a ``Flag`` combines with others (``Perm.R | Perm.W``), which a plain ``Enum``
#: rebuilt from the members alone would refuse.
ENUM_KINDS: tuple[tuple[EnumKind, type[enum.Enum]], ...] = (
    ("IntFlag", enum.IntFlag),
    ("Flag", enum.Flag),
    ("StrEnum", enum.StrEnum),
    ("IntEnum", enum.IntEnum),
    ("Enum", enum.Enum),
)


def enum_kind(cls: type[enum.Enum]) -> EnumKind:
    """The most specific kind of ``cls`` in ``ENUM_KINDS``."""
    return next(kind for kind, base in ENUM_KINDS if issubclass(cls, base))


def enum_base(kind: EnumKind) -> type[enum.Enum]:
    return dict(ENUM_KINDS)[kind]


def describe() -> str:
    """The supported types in words, for error messages."""
    scalars = ", ".join(s.text.split(".")[-1] if s.module is datetime else s.text
                        for s in SCALARS)
    return (f"scalars ({scalars}), list/dict/set/tuple, Optional/Union, Literal, enums "
            f"({', '.join(kind for kind, _ in ENUM_KINDS)}) or pydantic models")

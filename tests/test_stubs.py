"""Stub generation: readable, deterministic, complete for nested models, and kept fresh."""

from __future__ import annotations

import datetime
import decimal
import enum
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from engine import Engine, ToolRegistry, load_tools, render_stubs, tool
from engine.stubs import render_prompt_view, signature_text

ROOT = Path(__file__).resolve().parent.parent


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Geo(BaseModel):
    lat: float
    lon: float


class Address(BaseModel):
    """A postal address."""

    street: str
    country: str = Field(default="IL", description="ISO code")
    geo: Geo | None = None


class Employee(BaseModel):
    name: str
    address: Address
    manager: Employee | None = None
    tags: list[str] = Field(default_factory=list)


class Department(BaseModel):
    name: str
    employees: list[Employee]
    budget: decimal.Decimal


class Company(BaseModel):
    departments: list[Department]
    founded: datetime.date


@tool
def find(
    query: str, /, limit: int = 10, *countries: str, color: Color = Color.RED,
    exact: bool = False, **filters: int,
) -> dict[str, list[Employee]]:
    """Search employees.

    Matching is case-insensitive.
    """
    return {}


@tool
def company(name: str, kind: Literal["public", "private"] | None = None) -> Company:
    """Load a company with all its departments."""
    raise NotImplementedError


@tool
def ping() -> None:
    return None


def registry() -> ToolRegistry:
    return ToolRegistry([find, company, ping])


def test_signature_keeps_kinds_and_defaults() -> None:
    assert signature_text(find) == (
        "find(query: str, /, limit: int = 10, *countries: str, color: Color = Color.RED, "
        "exact: bool = False, **filters: int) -> dict[str, list[Employee]]"
    )
    assert signature_text(company) == (
        "company(name: str, kind: Literal['public', 'private'] | None = None) -> Company"
    )
    assert signature_text(ping) == "ping() -> None"


def test_models_render_as_classes_with_typed_fields_dependencies_first() -> None:
    text = render_stubs(registry())
    order = [text.index(f"class {n}(") for n in ("Geo", "Address", "Employee", "Department",
                                                 "Company")]
    assert order == sorted(order)
    assert '    country: str = \'IL\'  # ISO code' in text
    assert "    geo: Geo | None = None" in text
    assert "    manager: Employee | None = None" in text
    assert "    tags: list[str] = ..." in text
    assert "    budget: decimal.Decimal" in text
    assert "    founded: datetime.date" in text
    assert "class Color(enum.Enum):\n    RED = 'red'\n    BLUE = 'blue'" in text
    assert '"""A postal address."""' in text
    assert '    """Search employees.\n\n    Matching is case-insensitive.\n    """' in text
    assert "def ping() -> None: ..." in text
    assert "import datetime" in text and "import decimal" in text and "import enum" in text


def test_stubs_are_deterministic() -> None:
    assert render_stubs(registry()) == render_stubs(registry())


def test_prompt_view_has_no_plumbing() -> None:
    view = render_prompt_view(registry())
    assert "__all__" not in view and "dataclass_transform" not in view
    assert "class Employee(BaseModel):" in view and "def final_answer" in view


def test_generated_stubs_type_check_and_drive_mypy() -> None:
    engine = Engine(registry(), check_types=True)
    try:
        ok = engine.check(
            "c = company('Acme', kind='public')\n"
            "names = [e.name for d in c.departments for e in d.employees if e.manager]\n"
            "hits = find('ada', 5, 'IL', 'DE', color=Color.BLUE, age=3)\n"
            "print(names, hits['x'][0].address.geo)\n"
        )
        assert ok.ok, ok.diagnostics
        bad = engine.check("company('Acme', kind='gov')\nfind(query='a')\nping(1)")
        # `query` is positional-only, so `query=` lands in **filters (int): two findings
        assert [d.code for d in bad.diagnostics] == ["T101", "T102", "T101", "T102"]
    finally:
        engine.close()


@pytest.mark.parametrize("toolset", sorted(p.name for p in (ROOT / "typestubs").iterdir()
                                            if (p / "__init__.pyi").exists()))
def test_bundled_typestubs_are_fresh(toolset: str) -> None:
    committed = ROOT / "typestubs" / toolset / "__init__.pyi"
    generated = render_stubs(load_tools(f"examples.toolsets.{toolset}"))
    assert committed.read_text() == generated, (
        f"typestubs/{toolset} is stale: run `codeact stubs --tools examples.toolsets.{toolset} "
        f"-o typestubs/{toolset}/`"
    )

"""When a tool is at fault, the snippet is told so and the tool's author can debug it
(issue 15): a wrong result names the field and is R104; a raising tool's traceback is logged."""

from __future__ import annotations

import datetime
import logging
from typing import Any

import pytest
from pydantic import BaseModel

from engine import Engine, tool


class Point(BaseModel):
    x: int
    y: int


@tool
def point() -> Point:
    """A point, returned with a field missing."""
    return {"x": 1}  # type: ignore[return-value]


@tool
def explode() -> int:
    """Always fails."""
    raise RuntimeError("boom inside the tool")


@pytest.fixture(scope="module")
def engine() -> Engine:
    eng = Engine([point, explode], check_types=False)
    yield eng  # type: ignore[misc]
    eng.close()


def test_a_wrong_result_names_the_field_and_blames_the_tool(engine: Engine) -> None:
    result = engine.run("p = point()")
    [d] = result.errors
    assert d.code == "R104" and "y: Field required" in d.message
    assert d.hint is not None and "not a problem in your code" in d.hint.lower()


def test_a_raising_tool_is_logged_with_its_traceback(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="engine.tools"):
        result = engine.run("explode()")
    assert result.errors[0].code == "R102"
    assert "Traceback" not in result.errors[0].message  # the snippet sees type and message
    [record] = [r for r in caplog.records if r.name == "engine.tools"]
    assert record.exc_info is not None and "boom inside the tool" in str(record.exc_info[1])


def test_any_is_accepted_and_crosses_as_json_data() -> None:
    @tool
    def loose() -> Any:
        """A value with no declared type."""
        return {"when": datetime.date(2026, 11, 30), "tags": {"a"}}

    with Engine([loose], check_types=False) as eng:
        result = eng.run("final_answer(loose())")
    assert result.ok and result.value == {"when": "2026-11-30", "tags": ["a"]}

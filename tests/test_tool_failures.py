"""When a tool is at fault, the snippet is told so and the tool's author can debug it
(issue 15): a wrong result names the field and is R104; a raising tool's traceback is logged."""

from __future__ import annotations

import datetime
import logging
from typing import Any

import pytest
from pydantic import BaseModel

from engine import Engine, Policy, ToolRegistry, tool


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


def test_a_slow_tool_is_no_longer_waited_for_past_the_policys_tool_timeout() -> None:
    import contextvars
    import threading

    release, finished = threading.Event(), threading.Event()
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
    seen: list[str] = []

    @tool
    def slow(n: int) -> int:
        """Waits until the test releases it."""
        seen.append(request_id.get())
        if n:
            release.wait(60)
            finished.set()
        return n

    default = Policy.load("default")
    policy = default.model_copy(update={"limits": default.limits.model_copy(
        update={"tool_timeout_seconds": 0.2})})
    eng = Engine(ToolRegistry([slow]), policy)
    try:
        request_id.set("req-7")
        with eng.session() as session:
            result = session.run("try:\n    slow(1)\nexcept Exception as e:\n    print(e)\n"
                                 "final_answer(slow(0))")
        # The run came back while the tool was still waiting: it was not waited for.
        assert not finished.is_set()
        assert result.ok and result.value == 0, result.diagnostics
        assert "slow() failed: ToolTimeout: slow() did not return within 0.2 s" in result.stdout
        assert [c.status for c in result.tool_calls] == ["tool_error", "ok"]
        assert seen == ["req-7", "req-7"]  # the caller's context went with the call
    finally:
        release.set()
        eng.close()
    assert finished.wait(10)

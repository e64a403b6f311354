"""The brokered call's short cuts (issue 14) answer exactly as the general path does: the
canonical argument text, validation of arguments given by position, the child's arity check,
the frame reader's one-read frames and its polling."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from engine import Engine, ToolRegistry, tool
from engine.policy.model import Limits
from engine.sandbox.broker import CallRecord, ToolBroker, _canonical, _Plan
from engine.sandbox.limits import unavailable_reason
from engine.sandbox.protocol import (
    HEADER,
    MAGIC,
    VERSION,
    FrameReader,
    Kind,
    PeerClosed,
    ProtocolError,
    Timeout,
    ToolStatus,
    encode,
)


@tool
def scale(value: int, factor: Annotated[int, Field(ge=1)] = 2, label: str = "x") -> str:
    """A value times a factor, labelled."""
    return f"{label}{value * factor}"


@tool
def only_keywords(value: int, *, twice: bool = False) -> int:
    """A keyword-only parameter: calls always bind."""
    return value * (2 if twice else 1)


@tool
def many(*values: int) -> int:
    """Variadic: calls always bind."""
    return sum(values)


class Point(BaseModel):
    x: int
    y: int = 0


@tool
def point(kind: str) -> Point:
    """A point, or something that is not one."""
    answers: dict[str, Any] = {
        "model": Point(x=1, y=2), "dict": {"x": "3"}, "wrong": {"y": 1},
        "object": SimpleNamespace(x=4, y=5), "none": None,
    }
    return answers[kind]  # type: ignore[no-any-return]


@tool
def text(kind: str) -> str:
    """A string, or something that is not one."""
    return {"plain": "héllo", "surrogate": "\ud800", "number": 5}[kind]  # type: ignore[return-value]


@tool
def blob(size: int) -> bytes:
    """Bytes: they travel tagged."""
    return bytes(range(size))


REGISTRY = ToolRegistry([scale, only_keywords, many, point, text, blob])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(args=st.lists(json_values, max_size=4), kwargs=st.dictionaries(st.text(), json_values,
                                                                      max_size=4))
def test_canonical_arguments_are_json_dumps_sorted(args: list[Any],
                                                   kwargs: dict[str, Any]) -> None:
    # Records compare this text byte for byte with transcripts written by json.dumps.
    assert _canonical([args, kwargs]) == json.dumps([args, kwargs], sort_keys=True)


def _general(name: str, args: list[Any], kwargs: dict[str, Any]) -> bytes:
    """The reply the general path (binding the signature, Tool.dump_result) gives."""
    broker = ToolBroker(REGISTRY, Limits())
    if name in REGISTRY:  # no short cut for this tool
        broker._plans[name] = _Plan(REGISTRY[name], 0, None, REGISTRY[name].dump_result)
    payload = json.dumps({"call": 1, "tool": name, "args": args, "kwargs": kwargs}).encode()
    return broker.handle(payload)


CALLS: list[tuple[str, list[Any], dict[str, Any]]] = [
    ("scale", [3], {}),
    ("scale", [3, 4], {}),
    ("scale", [3, 4, "y"], {}),
    ("scale", ["3", 4.0], {}),  # lax coercion, as validate_arguments does it
    ("scale", [3, 0], {}),  # the Field constraint
    ("scale", ["three"], {}),
    ("scale", [], {}),
    ("scale", [1, 2, "y", 4], {}),
    ("scale", [3], {"factor": 5}),
    ("scale", [3], {"value": 5}),
    ("scale", [None, None], {}),
    ("only_keywords", [3], {}),
    ("only_keywords", [3], {"twice": True}),
    ("only_keywords", [3, True], {}),
    ("many", [1, 2, 3], {}),
    ("many", ["x"], {}),
    ("nothing", [1], {}),
    ("point", ["model"], {}),
    ("point", ["dict"], {}),
    ("point", ["wrong"], {}),
    ("point", ["object"], {}),
    ("point", ["none"], {}),
    ("text", ["plain"], {}),
    ("text", ["surrogate"], {}),
    ("text", ["number"], {}),
    ("blob", [3], {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), CALLS)
def test_positional_calls_answer_as_the_general_path(name: str, args: list[Any],
                                                     kwargs: dict[str, Any]) -> None:
    broker = ToolBroker(REGISTRY, Limits())
    payload = json.dumps({"call": 1, "tool": name, "args": args, "kwargs": kwargs}).encode()
    reply = broker.handle(payload)
    assert reply == _general(name, args, kwargs)
    assert broker.calls[-1].arguments == json.dumps([args, kwargs], sort_keys=True).encode()


def test_unknown_tool_names_are_not_kept_by_the_broker() -> None:
    broker = ToolBroker(REGISTRY, Limits())
    for i in range(20):
        reply = broker.handle(json.dumps({"call": i, "tool": f"t{i}", "args": [],
                                          "kwargs": {}}).encode())
        assert reply[0] == ToolStatus.BAD_ARGUMENTS
    assert broker._plans == {}


def test_a_call_record_is_immutable_and_public_as_before() -> None:
    record = CallRecord("scale", b"[[3], {}]", ToolStatus.OK, b'\x00"x6"', 0.12345)
    with pytest.raises(AttributeError):
        record.tool = "other"  # type: ignore[misc]
    public = record.public()
    assert (public.tool, public.ok, public.duration_ms, public.arguments, public.reply) == (
        "scale", True, 0.123, "[[3], {}]", '"x6"')
    assert public.model_fields_set == {"tool", "ok", "duration_ms", "error", "status",
                                       "arguments", "reply"}
    assert CallRecord.from_public(public) == record._replace(duration_ms=0.123)
    dropped = record._replace(arguments=b"", reply=b"")
    assert not dropped.kept and dropped.public().arguments is None


# --- the frame reader -------------------------------------------------------------------


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    yield read_end, write_end
    for fd in (read_end, write_end):
        with contextlib.suppress(OSError):
            os.close(fd)


def test_frames_in_one_read_and_across_reads(pipe: tuple[int, int]) -> None:
    read_end, write_end = pipe
    reader = FrameReader(read_end, max_payload=10_000)
    os.write(write_end, encode(Kind.TOOL_CALL, b"one"))
    assert reader.read() == (Kind.TOOL_CALL, b"one")
    os.write(write_end, encode(Kind.TOOL_CALL, b"two") + encode(Kind.DONE, b"three")
             + encode(Kind.DONE, b"fo"))
    assert reader.read() == (Kind.TOOL_CALL, b"two")
    assert reader.read() == (Kind.DONE, b"three")
    assert reader.read() == (Kind.DONE, b"fo")
    big = bytes(range(256)) * 30  # longer than one read
    frame = encode(Kind.DONE, big)
    os.write(write_end, frame[:5])
    with pytest.raises(Timeout):
        reader.read(deadline=0.0)
    os.write(write_end, frame[5:])
    assert reader.read() == (Kind.DONE, big)
    os.close(write_end)
    with pytest.raises(PeerClosed):
        reader.read()


def test_a_frame_already_there_is_read_past_the_deadline(pipe: tuple[int, int]) -> None:
    read_end, write_end = pipe
    reader = FrameReader(read_end, max_payload=100, spin=0.0)
    os.write(write_end, encode(Kind.DONE, b"late"))
    assert reader.read(deadline=0.0) == (Kind.DONE, b"late")
    with pytest.raises(Timeout):
        reader.read(deadline=0.0)


@pytest.mark.parametrize(("header", "message"), [
    (HEADER.pack(b"XX", VERSION, Kind.DONE, 1), "bad magic"),
    (HEADER.pack(MAGIC, VERSION + 1, Kind.DONE, 1), "protocol version"),
    (HEADER.pack(MAGIC, VERSION, 99, 1), "unknown message kind"),
    (HEADER.pack(MAGIC, VERSION, Kind.DONE, 101), "exceeds the limit"),
])
def test_a_bad_header_in_a_whole_frame_is_refused(pipe: tuple[int, int], header: bytes,
                                                   message: str) -> None:
    read_end, write_end = pipe
    os.write(write_end, header + b"x")
    with pytest.raises(ProtocolError, match=message):
        FrameReader(read_end, max_payload=100).read()


def test_polling_follows_the_peer_and_stops_when_polling_keeps_missing(
        pipe: tuple[int, int]) -> None:
    read_end, write_end = pipe
    reader = FrameReader(read_end, max_payload=100, spin=0.00005)
    assert reader._spin_budget() == reader.max_spin  # nothing seen yet: the longest
    reader._typical = 0.000004  # a quick peer: a short window
    assert 0 < reader._spin_budget() < reader.max_spin
    for _ in range(12):  # nothing comes: every wait polls, misses and sleeps until the deadline
        with pytest.raises(Timeout):
            reader.read(deadline=0.0)
    budgets = [reader._spin_budget() for _ in range(128)]
    assert budgets.count(0.0) == 126 and max(budgets) == reader.max_spin  # probes only
    os.write(write_end, encode(Kind.DONE, b"now"))
    assert reader.read(deadline=0.0) == (Kind.DONE, b"now")
    assert FrameReader(read_end, max_payload=1, spin=0.0)._spin_budget() == 0.0


def test_a_wait_with_its_own_window_leaves_the_tool_call_window_alone(
        pipe: tuple[int, int]) -> None:
    """The wait for a snippet's outcome polls for the snippet's usual time; what it sees says
    nothing about how fast tool calls are answered."""
    read_end, write_end = pipe
    reader = FrameReader(read_end, max_payload=100, spin=0.00005)
    reader._typical = 0.000004
    for _ in range(12):
        with pytest.raises(Timeout):
            reader.read(deadline=0.0, spin=0.0002)
    assert reader._misses == 0 and reader._typical == 0.000004
    with pytest.raises(Timeout):
        reader.read(deadline=time.monotonic() + 0.01, spin=0.0)  # sleeps at once
    assert reader._misses == 0 and reader._typical == 0.000004
    os.write(write_end, encode(Kind.DONE, b"now"))
    assert reader.read(deadline=0.0, spin=0.0) == (Kind.DONE, b"now")


# --- end to end -------------------------------------------------------------------------


@pytest.mark.skipif(unavailable_reason() is not None, reason="seccomp unavailable")
def test_the_child_checks_arity_as_signature_bind_does() -> None:
    engine = Engine(REGISTRY, check_policy=False, check_types=False)
    try:
        with engine.session() as session:
            assert session.run("final_answer([scale(3), scale(3, 4), scale(3, 4, 'y')])"
                               ).value == ["x6", "x12", "y12"]
            assert session.run("final_answer(only_keywords(3, twice=True))").value == 6
            assert session.run("final_answer(many(1, 2, 3))").value == 6
            for call, message in [
                ("scale()", "scale(): missing a required argument: 'value'"),
                ("scale(1, 2, 'y', 4)", "scale(): too many positional arguments"),
                ("only_keywords(3, True)", "only_keywords(): too many positional arguments"),
                ("scale(1, value=2)", "scale(): multiple values for argument 'value'"),
            ]:
                result = session.run(call)
                assert [d.code for d in result.diagnostics] == ["R103"], call
                assert message in result.diagnostics[0].message
    finally:
        engine.close()

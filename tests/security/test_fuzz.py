"""Property-based fuzzing: every input gets a report, and no frame from a child crashes the
parent."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import CheckReport, Engine, Policy, ToolRegistry, load_tools
from engine.policy.model import Limits
from engine.sandbox.broker import ToolBroker
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
)

# Generated programs are full of `1()`-like calls, which CPython's compiler warns about.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def checker() -> Iterator[Engine]:
    engine = Engine(load_tools("tests.security.toolset"), "default", check_types=False)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def typed() -> Iterator[Engine]:
    engine = Engine(load_tools("tests.security.toolset"), "default")
    engine.warm_up()
    yield engine
    engine.close()


@FUZZ
@given(source=hypothesmith.from_grammar())
def test_any_valid_program_gets_a_report(checker: Engine, source: str) -> None:
    report = checker.check(source)
    assert isinstance(report, CheckReport)
    assert all(d.line >= 1 and d.column >= 1 and d.hint for d in report.diagnostics)


@FUZZ
@given(source=st.text(max_size=400))
def test_any_text_gets_a_report(checker: Engine, source: str) -> None:
    report = checker.check(source)
    assert isinstance(report, CheckReport)
    assert report.ok or report.diagnostics


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(source=hypothesmith.from_grammar())
def test_type_stage_never_crashes(typed: Engine, source: str) -> None:
    report = typed.check(source)
    assert all(d.code != "T198" for d in report.diagnostics), report.diagnostics


def _frames() -> st.SearchStrategy[bytes]:
    header = st.builds(HEADER.pack,
                       st.sampled_from([MAGIC, b"XX", b"C\x00"]), st.sampled_from([VERSION, 0, 9]),
                       st.integers(0, 255), st.integers(0, 2**32 - 1))
    return st.one_of(st.binary(max_size=200), st.builds(lambda h, b: h + b, header,
                                                        st.binary(max_size=100)))


@FUZZ
@given(data=_frames())
def test_frame_reader_rejects_garbage_cleanly(data: bytes) -> None:
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, data)
        os.close(write_end)
        write_end = -1
        reader = FrameReader(read_end, max_payload=1024)
        with pytest.raises((ProtocolError, PeerClosed, Timeout)):
            while True:
                reader.read(deadline=None)
    finally:
        os.close(read_end)
        if write_end != -1:
            os.close(write_end)


@FUZZ
@given(payload=st.one_of(st.binary(max_size=200),
                         st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                                      lambda inner: st.lists(inner) | st.dictionaries(
                                          st.text(), inner), max_leaves=10).map(
                             lambda v: __import__("json").dumps(v).encode())))
def test_broker_rejects_forged_calls_cleanly(payload: bytes) -> None:
    broker = ToolBroker(load_tools("tests.security.toolset"), Limits())
    try:
        reply = broker.handle(payload)
    except ProtocolError:
        return
    assert isinstance(reply, bytes) and reply[0] in (0, 1, 2, 3)


ESCAPE = (
    "real = [c for c in ().__class__.__base__.__subclasses__()"
    " if c.__name__ == 'catch_warnings'][0]()._module.__builtins__\n"
    "os = real['__import__']('os')\n"
)


@pytest.mark.skipif(unavailable_reason() is not None, reason="seccomp unavailable")
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(frame=_frames(), then_wait=st.booleans())
def test_child_sending_garbage_never_hurts_the_parent(frame: bytes, then_wait: bool) -> None:
    policy = Policy.load("tests/security/policy.toml")
    engine = Engine(ToolRegistry(), policy, check_policy=False, check_types=False)
    try:
        with engine.session() as session:
            tail = "\nwhile True:\n    pass" if then_wait else ""
            result = session.run(ESCAPE + f"os.write(4, {frame!r}){tail}")
            assert result.executed
            if not result.ok:
                assert result.diagnostics
            assert session.run("print(1 + 1)").stdout == "2\n"
    finally:
        engine.close()


def test_frame_split_across_reads_is_reassembled() -> None:
    read_end, write_end = os.pipe()
    payload = b'{"x": 1}'
    frame = HEADER.pack(MAGIC, VERSION, Kind.DONE, len(payload)) + payload
    for byte in frame:
        os.write(write_end, bytes([byte]))
    os.close(write_end)
    reader = FrameReader(read_end, max_payload=1024)
    assert reader.read(deadline=None) == (Kind.DONE, payload)
    with pytest.raises(PeerClosed):
        reader.read(deadline=None)
    os.close(read_end)
    assert struct.calcsize("!2sBBI") == HEADER.size

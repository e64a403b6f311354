"""Resource limits stop each bomb with its own code; the parent and other sessions carry on."""

from __future__ import annotations

import gc
import os
import resource
import threading
import time
from collections.abc import Iterator

import pytest

from engine import Engine, Policy, RunResult, ToolRegistry, tool
from engine.sandbox.limits import unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason="seccomp unavailable")

LIMITS = """
extends = "default"
[limits]
timeout_seconds = 2.0
cpu_seconds = 1.0
memory_mb = 128
max_output_bytes = 1000
output_flood_bytes = 200000
max_tool_calls = 50
max_tool_argument_bytes = 2000
max_tool_result_bytes = 20000
max_answer_bytes = 500
"""

CALLS: list[str] = []


@tool
def echo(text: str) -> str:
    """Return the text."""
    CALLS.append(text)
    return text


@tool
def blob(size: int) -> str:
    """A string of `size` characters."""
    return "x" * size


@tool
def slow(seconds: float) -> float:
    """Sleep on the trusted side."""
    threading.Event().wait(seconds)
    return seconds


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    eng = Engine(ToolRegistry([echo, blob, slow]), Policy.from_toml(LIMITS),
                 check_policy=False, check_types=False)
    yield eng
    eng.close()


def codes_of(result: RunResult) -> list[str]:
    return [d.code for d in result.diagnostics]


def test_timeout(engine: Engine) -> None:
    result = engine.run("x = 0\nwhile True:\n    x = (x + 1) % 7")
    assert codes_of(result)[0] in ("R201", "R203")  # 1 s of CPU or 2 s of wall, whichever first
    waiting = engine.run("slow(3.0)")
    assert codes_of(waiting)[0] == "R201"
    message = waiting.diagnostics[0].message
    assert "past its 2 s limit" in message
    # honest about the time: the tool could not be interrupted and took its 3 s
    assert "the tool slow() alone took 3.0 s" in message, message


def test_cpu_limit_is_per_snippet(engine: Engine) -> None:
    with engine.session() as session:
        for _ in range(3):  # three snippets of ~0.6 s CPU each: each under its own budget
            busy = session.run("n = 0\nfor i in range(4_000_000):\n    n += i")
            assert busy.ok, busy.diagnostics
        spin = session.run("while True:\n    pass")
        assert codes_of(spin)[0] == "R203"
        assert "1 s of CPU" in spin.diagnostics[0].message
        # what a killed snippet used is still reported (from the zygote's accounting)
        assert spin.usage is not None and spin.usage.cpu_ms >= 900, spin.usage


def test_memory_bomb(engine: Engine) -> None:
    with engine.session() as session:
        result = session.run("blocks = []\nwhile True:\n    blocks.append('x' * 10_000_000)")
        assert codes_of(result) == ["R202"]
        assert session.run("print('recovered')").stdout == "recovered\n"


def test_big_allocation_at_once(engine: Engine) -> None:
    assert codes_of(engine.run("x = [0] * (10**9)")) == ["R202"]


def test_deep_recursion(engine: Engine) -> None:
    result = engine.run("def down(n):\n    return down(n + 1)\ndown(0)")
    [d] = result.diagnostics
    assert d.code == "R210" and d.line == 2


def test_output_is_capped_with_a_marker(engine: Engine) -> None:
    result = engine.run("for i in range(500):\n    print(i)")
    assert result.ok and result.output_truncated
    kept, marker = result.stdout[:1000], result.stdout[1000:]
    assert kept.startswith("0\n1\n2\n")
    assert marker == "\n[... output truncated: 890 more bytes not shown]\n"
    assert result.usage is not None and result.usage.output_bytes == 1890
    wide = engine.run("print('é' * 2000)")  # the cap counts bytes, not characters
    assert wide.stdout.startswith("é" * 500) and "é" * 501 not in wide.stdout


def test_hundred_megabytes_of_printing_is_stopped(engine: Engine) -> None:
    result = engine.run("for _ in range(100):\n    print('x' * 1_000_000)")
    assert codes_of(result) == ["R204"]
    assert result.stdout.startswith("x" * 1000) and "truncated" in result.stdout


def test_tool_call_limit(engine: Engine) -> None:
    CALLS.clear()
    result = engine.run("for i in range(100):\n    echo(str(i))")
    assert codes_of(result) == ["R205"]
    assert len(CALLS) == 50
    caught = engine.run("try:\n    for i in range(100):\n        echo('x')\n"
                        "except Exception:\n    print('swallowed')")
    assert codes_of(caught) == ["R205"]  # a limit is not an exception the snippet can catch


def test_payload_limits(engine: Engine) -> None:
    CALLS.clear()
    assert codes_of(engine.run("echo('y' * 5000)")) == ["R206"]
    assert CALLS == []
    assert codes_of(engine.run("blob(50_000)")) == ["R206"]
    assert engine.run("print(len(blob(10_000)))").stdout == "10000\n"


def test_final_answer_must_be_small_data(engine: Engine) -> None:
    assert codes_of(engine.run("final_answer('z' * 5000)")) == ["R209"]
    assert codes_of(engine.run("final_answer(print)")) == ["R209"]
    assert engine.run("final_answer([1, 'two', None, {'x': 3.5}])").value == [1, "two", None,
                                                                                {"x": 3.5}]


def test_killed_session_restores_its_state_without_rerunning_tools(engine: Engine) -> None:
    CALLS.clear()
    with engine.session() as session:
        assert session.run("greeting = echo('hello')").ok
        assert CALLS == ["hello"]
        dead = session.run("while True:\n    pass")
        assert dead.restarted and not dead.lost_names
        assert codes_of(dead)[-1] == "R212"
        assert CALLS == ["hello"]  # the replay answered from the record
        assert session.run("print(greeting)").stdout == "hello\n"


def test_state_that_cannot_be_replayed_is_reported_lost(engine: Engine) -> None:
    with engine.session() as session:
        # A clock reading: the replay sends the tool another argument (random draws, from
        # the session's one seed, would replay).
        ok = session.run("import time\ntoken = echo(str(time.perf_counter_ns()))")
        assert ok.ok
        dead = session.run("while True:\n    pass")
        assert dead.restarted and "token" in dead.lost_names and "time" in dead.lost_names
        assert codes_of(dead)[-1] == "R213"
        assert session.run("print('fresh start')").ok


def test_other_sessions_carry_on(engine: Engine) -> None:
    with engine.session() as calm, engine.session() as wild:
        assert calm.run("value = 7").ok
        assert not wild.run("while True:\n    pass").ok
        assert calm.run("print(value * 6)").stdout == "42\n"
        assert calm.pid != wild.pid


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_thousand_snippets_leave_parent_flat(engine: Engine) -> None:
    with engine.session() as session:
        for i in range(50):  # warm up allocator caches
            session.run(f"x = {i}")
        gc.collect()
        fds = _open_fds()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        threads = threading.active_count()
        for i in range(1000):
            if i % 100 == 99:
                assert not session.run("raise ValueError('bad')").ok
            else:
                assert session.run(f"x = echo('{i}')").ok
        gc.collect()
        # Flat, not exact: on a loaded machine the check pool may replace or add a worker
        # (a few descriptors, once); a leak grows with the snippets (10 to 1,000 here).
        assert _open_fds() - fds <= 4
        assert threading.active_count() == threads
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 20_000  # KiB


def test_no_process_is_left_behind() -> None:
    eng = Engine(ToolRegistry([echo]), Policy.from_toml(LIMITS), check_policy=False,
                 check_types=False)
    session = eng.session()
    session.run("x = 1")
    child = session.pid
    zygote = eng._zygote().pid
    assert child is not None
    eng.close()
    for pid in (child, zygote):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_session_replays_its_random_draws_from_a_spare_process(engine: Engine) -> None:
    """Processes may be forked before their session (a spare): the session's seed reaches
    them with the first snippet, so a restore draws the same numbers again."""
    for _ in range(3):  # from the second spawn on, the zygote keeps a spare
        assert engine.run("x = 1").ok
    with engine.session() as session:
        first = session.run("import random\nd = random.random()\nkey = echo(str(d))")
        assert first.ok
        dead = session.run("while True:\n    pass")
        assert dead.restarted and not dead.lost_names  # the replay sent echo() the same text
        assert session.run("print(key == str(d))").stdout == "True\n"


def test_sessions_started_from_spares_draw_different_numbers(engine: Engine) -> None:
    drawn = {engine.run("import random\nfinal_answer(random.random())").value
             for _ in range(4)}
    assert len(drawn) == 4


def test_the_spare_process_is_let_go_when_the_engine_closes() -> None:
    with Engine((), "default") as made:
        for _ in range(3):
            assert made.run("x = 1").ok
        zygote = made._zygote_handle
        assert zygote is not None
        deadline = time.monotonic() + 10
        while zygote._spare is None and time.monotonic() < deadline:
            time.sleep(0.01)
        spare = zygote._spare
        assert spare is not None
    assert zygote._spare is None
    deadline = time.monotonic() + 10
    while _running(spare.pid) and time.monotonic() < deadline:
        time.sleep(0.01)  # it reads the end of its pipe and exits
    assert not _running(spare.pid)


def _running(pid: int) -> bool:
    """Alive and not a zombie (nobody may be reaping in a container)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False

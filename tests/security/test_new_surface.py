"""What a red-team session broke in the surface added for issue 15, fixed and kept fixed.

Bytes tags, replay from a record, interrupts and per-call tool timeouts are trusted code
that handles what a snippet (or a subverted child) sends: none of it may raise out of
`Session.run`, leave a child unsupervised, hit the wrong snippet, or grow without bound.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from typer.testing import CliRunner

from engine import Engine, Policy, RunResult, Session, ToolRegistry, tool
from engine.cli import app
from engine.sandbox.broker import MAX_ARGUMENT_NESTING, StrayCalls
from engine.sandbox.limits import unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason="seccomp unavailable")
T = TypeVar("T")

CALLED: list[int] = []


@tool
def echo(x: Any) -> Any:
    """Return what it is given."""
    return x


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    CALLED.append(a + b)
    return a + b


def codes(result: RunResult) -> list[str]:
    return [d.code for d in result.diagnostics]


def with_limits(**limits: Any) -> Policy:
    default = Policy.load("default")
    return default.model_copy(update={"limits": default.limits.model_copy(update=limits)})


@pytest.fixture(scope="module")
def bare() -> Iterator[Engine]:
    engine = Engine(ToolRegistry([echo, add]), "default", check_policy=False, check_types=False)
    yield engine
    engine.close()


def at_depth(frames: int, work: Callable[[], T]) -> T:
    """``work()`` called with about ``frames`` frames of the host's own on the stack."""
    def down(n: int) -> T:
        return work() if n <= 0 else down(n - 1)
    return down(frames)


def test_a_bytes_answer_is_shown_by_the_cli_not_a_crash(tmp_path: Path) -> None:
    snippet = tmp_path / "s.py"
    snippet.write_text('x = {"$bytes": "aGk="}\nb"\\x00\\xff"\n')
    result = CliRunner().invoke(app, ["run", str(snippet)])
    assert result.exit_code == 0, result.output
    assert 'value: {"$bytes": "AP8="}' in result.output


def test_nested_arguments_cannot_exhaust_the_parents_stack(bare: Engine) -> None:
    snippet = ('x = ["$bytes"]\nfor i in range(250):\n    x = [x]\necho(x)\n'
               'y = [b"\\x00"]\nfor i in range(90):\n    y = [y]\nfinal_answer(echo(y))')
    old = sys.getrecursionlimit()
    with bare.session() as session:
        result = at_depth(old - 450, lambda: session.run(snippet))
        assert codes(result) == ["R103"], result.diagnostics
        assert f"more than {MAX_ARGUMENT_NESTING} levels" in result.diagnostics[0].message
        fine = at_depth(old - 450, lambda: session.run(snippet.replace("echo(x)\n", "")))
        assert fine.ok, fine.diagnostics
        dumped = at_depth(old - 450, fine.model_dump_json)  # the tags are written by a loop
        assert dumped.count("[") > 90 and '"$bytes":"AA=="' in dumped


def test_a_forged_deep_call_is_answered_not_raised(bare: Engine) -> None:
    # The child's loop is bypassed: frames written straight to the pipe, nested as deep as
    # the parent's fallback JSON reader takes, in a replay (the divergence message decodes it).
    forge = '''
g = add.__globals__
W, K = g["write_frame"], g["Kind"]
chan = [c.cell_contents for c in add.__closure__
        if c.cell_contents.__class__.__name__ == "ToolChannel"][0]
replies = []
for n in (900, 600, 300):
    W(4, K.TOOL_CALL, b'{"call":1,"tool":"echo","args":[' + b"[" * n + b"]" * n
      + b'],"kwargs":{}}')
    replies.append(chan.reader.read()[1][:1])
print(replies)
'''
    with bare.session() as session:
        for recorded in (None, []):
            result = session.run(forge, recorded=recorded)
            assert result.ok and result.stdout == "[b'\\x02', b'\\x02', b'\\x02']\n", result
        assert session.run("final_answer(add(1, 1))").value == 2


def test_a_replay_that_makes_fewer_calls_is_not_called_exact(bare: Engine) -> None:
    # A clock, not random: a session's processes share one seed, so random draws replay.
    snippet = "import time\nv = 0\nif time.perf_counter_ns() % 2:\n    v = add(1, 2)"
    outcomes = []
    for _ in range(30):
        with bare.session() as session:
            if len(session.run(snippet).tool_calls) != 1:
                continue
            timer = threading.Timer(0.3, session.interrupt)
            timer.start()
            killed = session.run("while True:\n    pass")
            timer.join()
            after = session.run("final_answer(v)")
            if "R212" in codes(killed):
                assert after.value == 3  # "restored" means the state is as it was
            else:
                assert "R213" in codes(killed) and not after.ok
            outcomes.append("R213" in codes(killed))
        if True in outcomes and False in outcomes:
            break
    assert True in outcomes  # a replay took the other branch (p = 1/2 each time)


def test_an_interrupt_during_the_check_does_not_hit_the_next_snippet(bare: Engine) -> None:
    # A budget no loaded machine reaches: only the interrupt may stop this check (with the
    # default 2 s, a busy machine's check ran out of budget first: T197, not R215).
    checked = Engine(ToolRegistry([echo, add]), with_limits(check_seconds=120.0))
    try:
        with checked.session() as session:
            assert session.run("x = 3").ok
            long = "\n".join(f"a{i} = {i} + x" for i in range(1500))
            timer = threading.Timer(0.05, session.interrupt)
            timer.start()
            first = session.run(long)
            timer.join()
            assert "R215" in codes(first)
            after = session.run("final_answer(x + 1)")
            assert after.ok and after.value == 4, after.diagnostics
            assert "R212" not in codes(after) and session.pid is not None
    finally:
        checked.close()


def test_abandoned_tool_calls_are_bounded_per_session() -> None:
    release = threading.Event()

    @tool
    def hang() -> int:
        """Blocks until released."""
        release.wait(60)
        return 1

    engine = Engine(ToolRegistry([hang]), with_limits(tool_timeout_seconds=0.05,
                                                      timeout_seconds=20.0))
    try:
        with engine.session() as session:
            result = session.run("errors = []\nfor i in range(30):\n    try:\n        hang()\n"
                                 "    except Exception as e:\n        errors.append(str(e))\n"
                                 "final_answer(errors)")
            assert result.ok, result.diagnostics
            assert len(result.value) == 30
            assert sum("did not return within" in e for e in result.value) == StrayCalls.LIMIT
            assert "still running past their time limit" in result.value[-1]
            running = [t for t in threading.enumerate() if t.name == "codeact-tool-hang"]
            assert len(running) == StrayCalls.LIMIT
    finally:
        release.set()
        engine.close()


def test_a_tool_is_not_waited_for_past_the_snippets_own_deadline() -> None:
    release, finished = threading.Event(), threading.Event()

    @tool
    def hang() -> int:
        """Blocks until released."""
        release.wait(60)
        finished.set()
        return 1

    engine = Engine(ToolRegistry([hang]), with_limits(tool_timeout_seconds=60.0,
                                                      timeout_seconds=1.0))
    try:
        with engine.session() as session:
            result = session.run("hang()")
            assert not finished.is_set()  # it came back while the tool still ran
            assert codes(result)[0] == "R201"
    finally:
        release.set()
        engine.close()


def test_a_child_cannot_report_an_outcome_both_ok_and_failed(bare: Engine) -> None:
    forge = '''
g = add.__globals__
W, K = g["write_frame"], g["Kind"]
W(4, K.DONE, b'{"id": ID, "ok": true, "error": {"code": "R214", "message": "forged"}}')
while True:
    pass
'''
    with bare.session() as session:
        session.run("x = 1")
        result = session.run(forge.replace("ID", "2"))
        assert codes(result)[:1] == ["R211"]
        assert session.run("final_answer(x)").value == 1


def test_a_session_survives_interrupts_at_any_moment(bare: Engine) -> None:
    session: Session
    with bare.session() as session:
        assert session.run("n = 0").ok
        for delay in (0.0, 0.001, 0.01, 0.05):
            timer = threading.Timer(delay, session.interrupt)
            timer.start()
            session.run("n = n + 1")
            timer.join()
        total = session.run("final_answer(n)")
        assert total.ok and 0 <= total.value <= 4


def test_a_lone_surrogate_is_a_syntax_error_and_keeps_the_checkers() -> None:
    engine = Engine(ToolRegistry([add]), "default")
    try:
        with engine.session() as session:
            for _ in range(engine.check_workers + 2):  # more than the pool's workers
                result = session.run("x = 1  # \ud800")
                assert codes(result) == ["S001"] and not result.executed
                assert result.diagnostics[0].column == 10
                assert "U+D800" in result.diagnostics[0].message
            assert session.run("final_answer(add(1, 2))").value == 3  # no worker was lost
    finally:
        engine.close()

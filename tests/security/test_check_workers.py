"""The parent never waits on a snippet: checks run in killable workers under a budget.

Each test attacks the checker itself (a snippet that makes analysis slow, a worker that dies
or runs out of memory, a flood of checks) and asserts that the engine answers, refuses the
snippet with a code a model can act on, and carries on. No timing is asserted: the order in
which things finish and the codes they report are.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Engine, Policy, Stage, StageStatus, load_tools
from engine.catalog import ToolCatalog
from engine.checks import CheckSpec, StaticChecker
from engine.stubs import render_stubs

ROOT = Path(__file__).resolve().parents[2]

#: Legal under the default policy, and minutes of mypy inference (nested overloads and lambdas).
COSTLY = ("x = list(map(lambda a: list(map(lambda b: list(map(lambda c: list(map(lambda d: "
          "list(map(lambda e: e, d)), c)), b)), a)), [[[[[1]]]]]))")
POLICY = Policy.from_toml('extends = "default"\n[limits]\ncheck_seconds = 0.5\n')


def codes_of(report: object) -> list[str]:
    return [d.code for d in report.diagnostics]  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    eng = Engine(load_tools("examples.toolsets.users"), POLICY, check_workers=2)
    eng.warm_up(all_workers=True)
    yield eng
    eng.close()


def _workers() -> set[int]:
    """Check worker processes that are children of this process."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == os.getpid() and b"engine.checkworker" in cmdline:
            found.add(int(entry.name))
    return found


def test_a_costly_snippet_is_refused_and_the_worker_replaced(engine: Engine) -> None:
    pool = engine._checks()
    before = pool.replaced
    report = engine.check(COSTLY)
    assert codes_of(report) == ["T197"] and not report.ok
    diagnostic = report.diagnostics[0]
    assert diagnostic.stage is Stage.TYPES and diagnostic.line == 1
    assert "too costly to check" in diagnostic.message and diagnostic.hint
    assert report.stage(Stage.TYPES).status is StageStatus.FAILED
    assert report.stage(Stage.POLICY).status is StageStatus.PASSED
    assert pool.replaced == before + 1
    assert engine.check("n = len(get_all_users())").ok
    assert codes_of(engine.check("deactivate('x')")) == ["T101"]


def test_other_checks_finish_while_a_costly_one_runs(engine: Engine) -> None:
    engine.warm_up(all_workers=True)  # a worker replaced by an earlier test is ready again
    finished: list[str] = []

    def costly() -> None:
        engine.check(COSTLY)
        finished.append("costly")

    thread = threading.Thread(target=costly)
    thread.start()
    time.sleep(0.05)
    for i in range(10):
        assert engine.check(f"n = {i} + len(get_all_users())").ok
    finished.append("cheap")
    thread.join()
    assert finished == ["cheap", "costly"]


def test_a_session_refuses_a_costly_snippet_and_keeps_its_state(engine: Engine) -> None:
    with engine.session() as session:
        assert session.run("n = 41").ok
        refused = session.run(COSTLY)
        assert not refused.executed and [d.code for d in refused.diagnostics] == ["T197"]
        after = session.run("print(n + 1)")
        assert after.ok and after.stdout == "42\n" and not after.restarted


def test_a_worker_that_dies_mid_check_is_a_diagnostic_not_a_crash(engine: Engine) -> None:
    pool = engine._checks()

    def kill_a_busy_worker() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            busy = list(pool._busy)
            if busy:
                os.kill(busy[0].process.pid, signal.SIGKILL)
                return
            time.sleep(0.005)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    report = engine.check(COSTLY)
    killer.join()
    assert not report.ok and codes_of(report)[0] in ("T197", "P153")
    # killed within milliseconds, long before the budget: reported as a failure, not a timeout
    assert "made the checker fail" in report.diagnostics[0].message, report.diagnostics
    assert engine.check("x = 1").ok


def test_size_limits_apply_before_libcst(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = load_tools("examples.toolsets.users")
    checker = StaticChecker(CheckSpec(policy=Policy.load("default"),
                                      tools=ToolCatalog.of(registry),
                                      stubs=render_stubs(registry)))

    def never(source: str) -> object:
        raise AssertionError("LibCST must not see a snippet over the size limits")

    # engine.checks imports it from there when a snippet needs it (not at start)
    monkeypatch.setattr("engine.parsing.parse_cst", never)
    wide = "x = [" + ",".join(["1"] * 25_000) + "]"
    assert codes_of(checker.check(wide)) == ["P150"]
    deep = "x = " + "[" * 150 + "]" * 150
    assert codes_of(checker.check(deep)) == ["P151"]
    checker.close()


def test_engines_with_the_same_tools_share_workers_and_close_them() -> None:
    from engine import checkpool

    tools = load_tools("examples.toolsets.company")
    first = Engine(tools, POLICY, check_workers=1)
    second = Engine(tools, POLICY, check_workers=1)
    assert first.check("x = 1").ok and second.check("x = 1").ok
    assert first._checks() is second._checks()
    pool = first._checks()
    first.close()
    assert pool._idle  # still in use by the second engine
    second.close()
    assert checkpool.close_unused_pools() >= 1  # the linger, ended now
    assert not [w for w in pool._idle + list(pool._busy) if w.process.poll() is None]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_leave_with_the_engine_process(tmp_path: Path) -> None:
    script = tmp_path / "host.py"
    script.write_text(
        "import os, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from engine import Engine, load_tools\n"
        "e = Engine(load_tools('examples.toolsets.users'), check_workers=2)\n"
        "e.warm_up(all_workers=True)\n"
        "print(*[w.process.pid for w in e._checks()._idle], flush=True)\n"
        "os._exit(0)\n"  # no close(): the host dies with its workers warm
    )
    host = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, check=True)
    pids = [int(p) for p in host.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if _alive(pid)], "check workers outlived their host"


def test_closing_the_engine_stops_its_workers() -> None:
    policy = Policy.from_toml('extends = "default"\n[limits]\ncheck_seconds = 0.75\n')
    eng = Engine(load_tools("examples.toolsets.phones"), policy, check_workers=2)
    eng.warm_up(all_workers=True)
    pids = {w.process.pid for w in eng._checks()._idle}
    assert len(pids) == 2 and pids <= _workers()
    eng.close()
    from engine import checkpool

    checkpool.close_unused_pools()
    assert not pids & _workers()

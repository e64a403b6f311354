"""Cancelling and interrupting: each stops what it names, in time, and leaves nothing behind.

Found by a red-team session against the async API, the pool and the MCP server: interrupts
that queued behind the runs they were meant to stop, a cancelled queued run that ran anyway,
a cancel that stopped another run of the same session, a restore that drew other random
numbers while calling itself exact, sessions leaked by cancelled opens.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest

from engine import AsyncEngine, AsyncSession, Engine, EnginePool, Policy, load_tools
from engine.execution import NotStarted
from engine.mcp_server import SessionPool, build_server, http_app
from engine.sandbox.broker import SandboxProcess, ToolBroker
from engine.sandbox.limits import unavailable_reason
from engine.testing.asgi import serve_on_loopback
from engine.workers import REQUESTS_AT_ONCE
from tests.conftest import codes_of

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason="seccomp unavailable")

USERS = "examples.toolsets.users"


def patient() -> Policy:
    """Limits far away, so that only an interrupt can end a run in time."""
    default = Policy.load("default")
    return default.model_copy(update={"limits": default.limits.model_copy(
        update={"timeout_seconds": 120.0, "cpu_seconds": 120.0})})


def test_cancelling_a_waiting_run_leaves_the_running_one_alone() -> None:
    async def main(engine: AsyncEngine) -> None:
        async with engine.session() as session:
            holder = asyncio.ensure_future(session.run(
                "import time\ntime.sleep(0.8)\nfinal_answer('holder')"))
            await asyncio.sleep(0.3)  # holder has the session; the next run waits for it
            waiting = asyncio.ensure_future(session.run("marker = 'waiter ran'"))
            await asyncio.sleep(0.1)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            done = await holder
            assert done.ok and done.value == "holder", done.diagnostics
            later = await session.run("final_answer(marker)")
            assert codes_of(later) == ["P110"]  # the cancelled run never ran

            holder = asyncio.ensure_future(session.run("while True:\n    pass"))
            await asyncio.sleep(0.3)
            waiting = asyncio.ensure_future(session.run("final_answer('waiter')"))
            await asyncio.sleep(0.1)
            holder.cancel()
            with pytest.raises(asyncio.CancelledError):
                await holder
            after = await waiting
            assert after.ok and after.value == "waiter", after.diagnostics

    async def with_engine() -> None:
        async with AsyncEngine(USERS, patient()) as engine:
            await main(engine)

    asyncio.run(with_engine())


def test_an_interrupt_for_a_run_that_has_not_arrived_stops_it_before_it_starts() -> None:
    with Engine(load_tools(USERS), "default") as engine, engine.session() as session:
        assert session.run("kept = 1").ok
        pid = session.pid
        session.interrupt(token=7)
        stopped = session.run("kept = 2", token=7)
        assert not stopped.executed and codes_of(stopped) == ["R215"]
        assert session.pid == pid  # nothing was killed: the state is as it was
        assert session.run("final_answer(kept)").value == 1
        assert session.run("final_answer(kept + 1)", token=7).value == 2  # used up


def test_the_moment_an_interrupt_cannot_kill_is_closed() -> None:
    """``stopped`` is asked under the kill lock: a snippet whose interrupt came just before
    it started never starts, and its process lives on."""
    with Engine(load_tools(USERS), "default") as engine:
        process = SandboxProcess(engine._zygote(), engine.policy.limits)
        try:
            broker = ToolBroker(engine.registry, engine.policy.limits)
            with pytest.raises(NotStarted):
                process.execute("print('ran')", broker, 1, stopped=lambda: True)
            assert process.alive and not process.executing
            ran = process.execute("print('ran')", broker, 2, stopped=lambda: False)
            assert ran.outcome is not None and ran.outcome.ok
        finally:
            process.close()


def test_closing_a_session_stops_its_running_snippet() -> None:
    with Engine(load_tools(USERS), patient()) as engine:
        session = engine.session()
        results = []
        runner = threading.Thread(
            target=lambda: results.append(session.run("while True:\n    pass")))
        runner.start()
        time.sleep(0.5)
        session.close()  # returns once the snippet has stopped, not after 120 s
        runner.join(60)
        assert results and "R215" in codes_of(results[0])
        assert session.closed and session.pid is None  # stopped, not restored


def test_random_draws_survive_a_restore() -> None:
    with Engine(load_tools(USERS), "default") as engine, engine.session() as session:
        drawn = session.run("import random\nsecret = random.getrandbits(64)\n"
                            "final_answer(secret)").value
        threading.Timer(0.5, session.interrupt).start()
        killed = session.run("while True:\n    pass")
        assert "R212" in codes_of(killed)  # restored, and exactly
        assert session.run("final_answer(secret)").value == drawn
        with engine.session() as other:  # another session draws other numbers
            assert other.run("import random\nfinal_answer(random.getrandbits(64))"
                             ).value != drawn


def test_interrupts_reach_a_worker_whose_request_threads_are_all_busy() -> None:
    """Each of a worker's request threads holds a sleeping run; the interrupts, served at
    once, stop them all, and a run queued behind them and cancelled never starts."""
    with EnginePool(USERS, patient(), workers=1) as pool, \
            ThreadPoolExecutor(REQUESTS_AT_ONCE + 4) as threads:
        sessions = [AsyncSession(pool.session(), threads) for _ in range(REQUESTS_AT_ONCE + 1)]

        async def main() -> list[object]:
            sleepers = [asyncio.ensure_future(s.run("import time\ntime.sleep(100)"))
                        for s in sessions[:-1]]
            await asyncio.sleep(3)  # every request thread of the worker holds a sleeper
            queued = asyncio.ensure_future(sessions[-1].run("marker = 'queued ran'"))
            await asyncio.sleep(0.5)
            for task in [*sleepers, queued]:
                task.cancel()
            done = await asyncio.wait_for(
                asyncio.gather(*sleepers, queued, return_exceptions=True), 60)
            after = await asyncio.wait_for(sessions[-1].run("final_answer(marker)"), 60)
            return [*done, after]

        try:
            outcomes = asyncio.run(main())
            assert all(isinstance(o, asyncio.CancelledError) for o in outcomes[:-1])
            assert codes_of(outcomes[-1]) == ["P110"]  # type: ignore[arg-type]
        finally:
            for session in sessions:
                session.sync.close()
        assert pool.open_sessions == 0


def test_cancelled_opens_leave_no_session_behind() -> None:
    async def main() -> None:
        async with AsyncEngine(USERS, "default", workers=2) as engine:
            pool = engine.target
            assert isinstance(pool, EnginePool)
            for _ in range(20):
                task = asyncio.ensure_future(engine.run("final_answer(1)"))
                await asyncio.sleep(0.005)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            # The last opens finish, then close, in the background: on a loaded machine
            # twenty opens and closes queued on the pool's workers take seconds.
            deadline = time.monotonic() + 90
            while pool.open_sessions and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert pool.open_sessions == 0

    asyncio.run(main())


def test_an_open_session_the_client_gave_up_on_is_closed() -> None:
    engine = Engine(load_tools(USERS), "default")
    opened = threading.Event()

    def slow_open():  # type: ignore[no-untyped-def]
        time.sleep(1.0)  # the client's read timeout comes first
        session = engine.session()
        opened.set()
        return session

    server, sessions = build_server(engine, opener=slow_open)
    app = http_app(server, host="127.0.0.1")
    try:
        with serve_on_loopback(app) as base:
            async def main() -> None:
                from tests.test_mcp import http_session

                async with http_session(f"{base}/mcp") as client:
                    with pytest.raises(Exception, match=r"(?i)timed? ?out"):
                        await client.call_tool("open_session", {}, read_timeout_seconds=0.3)

            anyio.run(main)
            assert opened.wait(10)
            for _ in range(100):
                if all(sessions.count(t) == 0 for t in ("default", "anonymous", "stdio")):
                    break
                time.sleep(0.05)
            assert all(sessions.count(t) == 0 for t in ("default", "anonymous", "stdio"))
    finally:
        sessions.close_all()
        engine.close()


def test_session_pool_counts_keys_too() -> None:
    with Engine(load_tools(USERS), "default", check_types=False) as engine:
        pool = SessionPool(engine)
        try:
            key = pool.open("alice")
            pool.get("alice", "named")
            assert pool.count("alice") == 2 and pool.names("alice") == ["named"]
            pool.close("alice", key)
            assert pool.count("alice") == 1
        finally:
            pool.close_all()

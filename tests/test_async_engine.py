"""AsyncEngine: the engine and the pool behind coroutines; cancelling a run stops its snippet."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine import (
    AsyncEngine,
    AsyncSession,
    CheckReport,
    Engine,
    Policy,
    RunResult,
    Session,
    ToolRegistry,
    load_tools,
    tool,
)

USERS = "examples.toolsets.users"


def counting_tools() -> tuple[ToolRegistry, list[int]]:
    """A tool whose calls are counted here: what the snippet did, seen from outside."""
    calls: list[int] = []

    @tool
    def tick() -> int:
        """Count one call."""
        calls.append(1)
        return len(calls)

    return ToolRegistry([tick]), calls


def test_runs_checks_and_sessions_in_process() -> None:
    async def main() -> None:
        async with AsyncEngine(USERS, "default") as engine:
            assert isinstance(engine.target, Engine)
            one = await engine.run("final_answer(len(get_all_users()) > 0)")
            assert one.ok and one.value is True
            report = await engine.check("x: int = 'a'")
            assert not report.ok and report.diagnostics[0].code == "T108"
            async with engine.session() as session:
                assert (await session.run("kept = 5")).ok
                assert (await session.check("final_answer(kept + 1)")).ok
                assert (await session.run("final_answer(kept + 1)")).value == 6
            opened = await engine.session()
            assert (await opened.run("final_answer(1)")).value == 1
            await opened.aclose()
        assert engine.target is None

    asyncio.run(main())


def test_cancelling_a_run_stops_the_snippet_before_the_await_ends() -> None:
    registry, calls = counting_tools()

    async def main() -> None:
        async with AsyncEngine(registry, "default") as engine, engine.session() as session:
            assert (await session.run("kept = 5")).ok
            task = asyncio.ensure_future(session.run("while True:\n    tick()"))
            while not calls:
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            stopped_at = len(calls)
            await asyncio.sleep(0.3)
            assert len(calls) == stopped_at  # nothing ran after the cancelled await ended
            assert session.sync.interrupts == 1  # type: ignore[attr-defined]
            after = await session.run("final_answer(kept)")
            assert after.ok and after.value == 5  # the session was restored, names intact

    asyncio.run(main())


class SlowToInterrupt:
    """A session whose interrupt takes 0.2 s to arrive (a pool worker far away): a cancelled
    run that returned before the snippet stopped would see it go on ticking."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def run(self, source: str, *, token: int | None = None) -> RunResult:
        return self.session.run(source, token=token)

    def check(self, source: str) -> CheckReport:
        return self.session.check(source)

    def interrupt(self, token: int | None = None) -> None:
        time.sleep(0.2)
        self.session.interrupt(token)

    def close(self) -> None:
        self.session.close()


def test_under_an_anyio_cancel_scope_too() -> None:
    """anyio delivers a cancellation again at every await until its scope exits (the MCP
    server runs on anyio): the wait for the snippet to stop must hold against that."""
    import anyio

    registry, calls = counting_tools()
    engine = Engine(registry, "default")

    async def main() -> None:
        with ThreadPoolExecutor(4) as executor:
            session = AsyncSession(SlowToInterrupt(engine.session()), executor)
            with anyio.CancelScope() as scope:
                async def cancel_when_ticking() -> None:
                    while not calls:
                        await anyio.sleep(0.01)
                    scope.cancel()

                async with anyio.create_task_group() as group:
                    group.start_soon(cancel_when_ticking)
                    await session.run("while True:\n    tick()")
            stopped_at = len(calls)
            await anyio.sleep(0.5)
            assert len(calls) == stopped_at  # nothing ran after the scope was left
            assert (await session.run("final_answer(1)")).value == 1
            await session.aclose()

    try:
        anyio.run(main)
    finally:
        engine.close()


def test_a_cancelled_run_still_waiting_for_a_thread_never_starts() -> None:
    release = threading.Event()
    started: list[str] = []

    @tool
    def hold(name: str) -> str:
        """Wait until the test lets go."""
        started.append(name)
        release.wait(30)
        return name

    async def main() -> None:
        async with (AsyncEngine([hold], "default", max_concurrent=1) as engine,
                    engine.session() as one, engine.session() as two):
            first = asyncio.ensure_future(one.run("final_answer(hold('first'))"))
            while not started:
                await asyncio.sleep(0.01)
            queued = asyncio.ensure_future(two.run("final_answer(hold('second'))"))
            await asyncio.sleep(0.2)  # the one thread is busy: this run waits for it
            queued.cancel()
            with pytest.raises(asyncio.CancelledError):
                await queued
            release.set()
            assert (await first).value == "first"
            assert (await two.run("final_answer(1)")).value == 1
            assert started == ["first"]
            assert two.sync.interrupts == 0  # type: ignore[attr-defined]

    asyncio.run(main())


def test_more_snippets_at_once_than_asyncios_default_threads() -> None:
    """asyncio's default executor has min(32, cores + 4) threads; an engine has its own, so
    twelve snippets that each wait for all the others all get to run."""
    together = threading.Barrier(12, timeout=60)

    @tool
    def meet() -> int:
        """Wait until twelve snippets are here."""
        return together.wait()

    async def main() -> list[object]:
        async with AsyncEngine([meet], "default") as engine:
            results = await asyncio.gather(*[engine.run("final_answer(meet())")
                                             for _ in range(12)])
            return sorted(r.value for r in results)  # type: ignore[type-var]

    assert asyncio.run(main()) == list(range(12))


def test_workers_run_sessions_in_worker_processes() -> None:
    default = Policy.load("default")
    patient = default.model_copy(update={"limits": default.limits.model_copy(
        update={"timeout_seconds": 120.0, "cpu_seconds": 120.0})})

    async def main() -> None:
        async with AsyncEngine(USERS, patient, workers=2) as engine:
            assert engine.workers == 2
            values = await asyncio.gather(*[engine.run(f"final_answer({i})") for i in range(6)])
            assert [v.value for v in values] == list(range(6))
            async with engine.session() as session:
                assert (await session.run("kept = 7")).ok
                task = asyncio.ensure_future(session.run("while True:\n    pass"))
                await asyncio.sleep(0.5)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                # Within 60 s, not the 120 s limit: the cancel reached the worker.
                after = await asyncio.wait_for(session.run("final_answer(kept)"), 60)
                assert after.value == 7

    asyncio.run(main())


def test_workers_need_tools_by_module_spec() -> None:
    with pytest.raises(ValueError, match="module spec"):
        AsyncEngine(load_tools(USERS), "default", workers=2)
    with pytest.raises(ValueError, match="at least 1"):
        AsyncEngine(USERS, "default", max_concurrent=0)


def test_wrap_leaves_the_engine_open() -> None:
    engine = Engine(load_tools(USERS), "default")
    try:
        async def main() -> None:
            async with AsyncEngine.wrap(engine) as wrapped:
                assert (await wrapped.run("final_answer(2)")).value == 2

        asyncio.run(main())
        assert engine.run("final_answer(3)").value == 3  # still usable
    finally:
        engine.close()


def test_the_event_loop_runs_while_snippets_do() -> None:
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    async def main() -> None:
        async with AsyncEngine(USERS, "default") as engine:
            beat = asyncio.ensure_future(ticker())
            result = await engine.run("total = 0\nfor i in range(3_000_000):\n"
                                      "    total += i\nfinal_answer(total)")
            beat.cancel()
            assert result.ok
            before = len(ticks)
            assert before > 3  # the loop kept turning during the run

    asyncio.run(main())

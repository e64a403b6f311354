"""The engine for asyncio code: an MCP server, an async agent graph, an RL rollout loop.

    async with AsyncEngine("examples.toolsets.users", "default", workers=2) as engine:
        result = await engine.run("final_answer(len(get_all_users()))")
        async with engine.session() as session:
            await session.run("users = get_all_users()")
            answer = await session.run("final_answer(len(users))")

``workers=1`` (the default) runs everything in this process (an ``Engine``; ``tools`` may
then be a ``ToolRegistry`` or a list of functions); ``workers=N`` or ``"auto"`` runs
sessions on N worker processes (an ``EnginePool``; ``tools`` is a module spec each worker
imports). ``AsyncEngine.wrap`` puts an engine or pool you already have (a ``RayPool``, say)
behind the same coroutines.

Every call runs on a thread of the engine's own executor (``max_concurrent`` threads: one
per snippet running at once), never on the event loop. Cancelling a ``run`` stops the
snippet (``R215``, the session restored) and returns once it has stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar

from engine.offload import interruptible, run_token
from engine.pipeline import Engine, Isolation
from engine.policy.model import Policy
from engine.results import CheckReport, RunResult
from engine.tools import Tool, ToolRegistry, load_tools
from engine.workers import EnginePool, Pool, Workers, worker_count

_T = TypeVar("_T")

#: Snippets one AsyncEngine runs at once by default; more wait for a thread.
MAX_CONCURRENT = 64


class SyncSession(Protocol):
    """What ``AsyncSession`` wraps: a ``Session`` or a ``PooledSession``."""

    def run(self, source: str, *, token: int | None = None) -> RunResult: ...

    def check(self, source: str) -> CheckReport: ...

    def interrupt(self, token: int | None = None) -> None: ...

    def close(self) -> None: ...


class AsyncSession:
    """A session's snippets as coroutines; names persist between runs as in ``Session``."""

    def __init__(self, session: SyncSession, executor: ThreadPoolExecutor) -> None:
        self.sync = session
        self._executor = executor

    async def run(self, source: str) -> RunResult:
        """Check and run ``source``; cancelling the await stops this run only (another run
        of the session, holding it or waiting for it, goes on)."""
        token = run_token()
        return await interruptible(lambda: self.sync.run(source, token=token),
                                   lambda: self.sync.interrupt(token), self._executor)

    async def check(self, source: str) -> CheckReport:
        """Check ``source`` with the names this session holds; nothing runs."""
        return await self._call(lambda: self.sync.check(source))

    def interrupt(self) -> None:
        """Stop the running snippet (``R215``). Cancelling the ``run`` does the same."""
        self.sync.interrupt()

    async def aclose(self) -> None:
        await _in_thread(self._executor, self.sync.close)

    async def _call(self, work: Callable[[], _T]) -> _T:
        return await interruptible(work, self.sync.interrupt, self._executor)

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncEngine:
    """An ``Engine`` (``workers=1``) or an ``EnginePool`` (``workers`` > 1) behind coroutines.

    Nothing starts until the first call or ``async with`` (a pool's workers take a few
    seconds to warm up, on a thread). ``aclose`` stops what it started.
    """

    def __init__(self, tools: str | ToolRegistry | Iterable[Tool | Callable[..., Any]] = (),
                 policy: Policy | str | Path = "default", *, workers: Workers = 1,
                 isolation: Isolation = "seccomp", check_types: bool = True,
                 max_concurrent: int = MAX_CONCURRENT) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        size = worker_count(workers)
        if size > 1 and not (isinstance(tools, str) or tools == ()):
            raise ValueError("with more than one worker, give the tools as a module spec "
                             "(\"package.module\", \"module:ATTR\" or a .py file) that each "
                             "worker imports")
        self.workers = size
        self.max_concurrent = max_concurrent
        self._make: Callable[[], Engine | Pool] = lambda: _build(
            tools, policy, size, isolation, check_types)
        self._target: Engine | Pool | None = None
        self._owned = True
        self._executor = ThreadPoolExecutor(max_concurrent, thread_name_prefix="codeact")

    @classmethod
    def wrap(cls, target: Engine | Pool, *, max_concurrent: int = MAX_CONCURRENT
             ) -> AsyncEngine:
        """Coroutines over an engine or pool you made (and close yourself)."""
        engine = cls(max_concurrent=max_concurrent)
        engine._target = target
        engine._owned = False
        engine.workers = target.size if isinstance(target, Pool) else 1
        return engine

    @property
    def target(self) -> Engine | Pool | None:
        """The engine or pool behind the coroutines (None until started)."""
        return self._target

    async def start(self) -> AsyncEngine:
        """Build the engine or start the pool's workers (done by the first call otherwise)."""
        if self._target is None:
            target = await _in_thread(self._executor, self._make)
            if self._target is None:
                self._target = target
            else:  # two first calls raced; keep one
                await _in_thread(self._executor, target.close)
        return self

    def session(self) -> _Opening:
        """A new session: ``async with engine.session() as session`` (closed at the end), or
        ``session = await engine.session()`` (then ``await session.aclose()``)."""
        return _Opening(self._open())

    async def _open(self) -> AsyncSession:
        target = (await self.start())._target
        assert target is not None
        opening: asyncio.Future[SyncSession] = asyncio.get_running_loop().run_in_executor(
            self._executor, target.session)
        try:
            return AsyncSession(await asyncio.shield(opening), self._executor)
        except asyncio.CancelledError:
            # Cancelled while the session was being opened: close it once it is, or a pool
            # would count it (and its worker would hold it) for ever.
            opening.add_done_callback(self._close_opened)
            raise

    def _close_opened(self, opening: asyncio.Future[Any]) -> None:
        if not opening.cancelled() and opening.exception() is None:
            self._executor.submit(opening.result().close)

    async def run(self, source: str) -> RunResult:
        """Check and run one snippet in a fresh session."""
        async with self.session() as session:
            return await session.run(source)

    async def check(self, source: str) -> CheckReport:
        """Check one snippet as a fresh session would; nothing runs."""
        target = (await self.start())._target
        if isinstance(target, Engine):
            return await _in_thread(self._executor, lambda: target.check(source))
        async with self.session() as session:
            return await session.check(source)

    async def aclose(self) -> None:
        target, self._target = self._target, None
        if target is not None and self._owned:
            await _in_thread(self._executor, target.close)
        self._executor.shutdown(wait=False)

    async def __aenter__(self) -> AsyncEngine:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _build(tools: str | ToolRegistry | Iterable[Tool | Callable[..., Any]],
           policy: Policy | str | Path, workers: int, isolation: Isolation,
           check_types: bool) -> Engine | Pool:
    if workers > 1:
        loaded = policy if isinstance(policy, Policy) else Policy.load(policy)
        return EnginePool(tools if isinstance(tools, str) else None, loaded, workers=workers,
                          isolation=isolation, check_types=check_types)
    registry = load_tools(tools) if isinstance(tools, str) else tools
    return Engine(registry, policy, isolation=isolation, check_types=check_types)


class _Opening:
    """``engine.session()``: awaitable, or an async context manager that closes the session."""

    def __init__(self, opening: Coroutine[Any, Any, AsyncSession]) -> None:
        self._opening = opening
        self._session: AsyncSession | None = None

    def __await__(self) -> Generator[Any, None, AsyncSession]:
        return self._opening.__await__()

    async def __aenter__(self) -> AsyncSession:
        self._session = await self._opening
        return self._session

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.aclose()


async def _in_thread(executor: ThreadPoolExecutor, work: Callable[[], _T]) -> _T:
    return await asyncio.get_running_loop().run_in_executor(executor, work)


__all__ = ["MAX_CONCURRENT", "AsyncEngine", "AsyncSession"]

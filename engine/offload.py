"""Blocking engine work off an asyncio event loop, interrupted when the await is cancelled.

A snippet run blocks a thread for as long as the snippet runs (it waits on a sandboxed
child, a check worker or a pool worker). Three things make handing it to a thread more than
``asyncio.to_thread``:

- asyncio's default executor has ``min(32, cores + 4)`` threads: six on a 2-core machine,
  so a seventh session waiting on a slow tool would wait for a thread, not for its tool.
  Callers pass an executor sized for the sessions they serve.
- Cancelling the await must stop the snippet (``interrupt``), not leave it running with no
  one to read its result.
- The cancelled await returns only once the work has really ended, so the caller's own
  bookkeeping (a tenant's concurrency slot, a session's next snippet) never runs ahead of
  the snippet it thought it had stopped, under anyio's cancel scopes too. A second
  ``task.cancel()`` stops that wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

import anyio

_T = TypeVar("_T")

_TOKENS = itertools.count(1)


def run_token() -> int:
    """A name for one run, unique in this process, for a targeted ``interrupt(token)``."""
    return next(_TOKENS)


async def interruptible(work: Callable[[], _T], interrupt: Callable[[], object],
                        executor: Executor | None = None) -> _T:
    """``work()`` on a thread of ``executor`` (asyncio's default when None); on cancellation,
    ``interrupt()`` (on a thread too: a pooled session's interrupt is a request to its worker)
    and wait for ``work`` to end before the cancellation goes on. Work still waiting for a
    thread when cancelled never starts."""
    lock = threading.Lock()
    state = {"started": False, "cancelled": False}

    def guarded() -> _T:
        with lock:
            if state["cancelled"]:
                raise asyncio.CancelledError
            state["started"] = True
        return work()

    loop = asyncio.get_running_loop()
    running = loop.run_in_executor(executor, guarded)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        with lock:
            state["cancelled"] = True
            started = state["started"]
        if started and not running.done():
            # Shielded from anyio's cancellation, which is delivered again at every await
            # until the cancelled scope exits (the MCP server runs on anyio): without the
            # shield this wait would end at once. A native task.cancel() still ends it.
            with anyio.CancelScope(shield=True), contextlib.suppress(asyncio.CancelledError):
                await loop.run_in_executor(None, interrupt)
                await asyncio.shield(running)
        # The work's own result or error is dropped with the cancellation; read it here
        # so that asyncio does not report it as never retrieved.
        if running.done() and not running.cancelled():
            running.exception()
        else:
            running.add_done_callback(_ignore)
        raise


def _ignore(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


__all__ = ["interruptible", "run_token"]

"""A session: snippets that share their globals, each checked, then run in the sandbox.

What happens when a snippet fails (the choice is documented in SECURITY.md):

* it raises: the names it bound or rebound are rolled back to what they were before it ran
  (objects it mutated in place stay mutated), and the session process carries on;
* it is killed (timeout, CPU, memory, a forbidden system call, a crash): the process is gone
  with its state. A new process is started and the session's earlier successful snippets are
  replayed in it with their recorded tool results, so that no tool runs twice; the session is
  then as it was before the failed snippet (``R212``). If the replay cannot be exact (a tool
  call differs; more than 500 snippets, 64 MiB of tool results or 10 s of replay) the state
  is lost and the result lists the names that are gone (``R213``).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from engine import codes
from engine.diagnostics import Diagnostic, Severity
from engine.execution import (
    Executed,
    ExecutionBackend,
    NotStarted,
    Outcome,
    Reported,
    ReportedError,
    Runner,
)
from engine.offload import interruptible, run_token
from engine.policy.model import Limits
from engine.policy.permissions import ToolPermissions
from engine.results import CheckReport, RunResult, ToolCall, Usage
from engine.sandbox.broker import CallRecord, StrayCalls, ToolBroker
from engine.typecheck.context import SessionContext

if TYPE_CHECKING:
    from engine.tools import ToolRegistry

#: How a session has its snippets checked: ``Engine.check``.
Checker = Callable[..., CheckReport]

#: Beyond these a killed session loses its state instead of replaying its history: recorded
#: tool results kept, snippets replayed, and wall time spent replaying.
REPLAY_BUDGET_BYTES = 64 * 1024 * 1024
REPLAY_MAX_SNIPPETS = 500
REPLAY_MAX_SECONDS = 10.0


@dataclass
class _Recorded:
    source: str
    calls: list[CallRecord] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.source) + sum(len(c.arguments) + len(c.reply) for c in self.calls)


#: Interrupted run tokens a session remembers for runs that have not arrived yet.
CANCELLED_TOKENS = 256


class _Tokens:
    """An insertion-ordered set of ints, trimmed from the oldest."""

    def __init__(self) -> None:
        self._items: dict[int, None] = {}
        self._lock = threading.Lock()

    def add(self, token: int) -> None:
        with self._lock:
            self._items[token] = None

    def discard(self, token: int) -> None:
        with self._lock:
            self._items.pop(token, None)

    def pop_oldest(self) -> None:
        with self._lock:
            if self._items:
                del self._items[next(iter(self._items))]

    def __contains__(self, token: object) -> bool:
        return token in self._items

    def __len__(self) -> int:
        return len(self._items)


class Session:
    """Create with ``engine.session()``; ``run()`` checks a snippet, then executes it.

    A session depends on the seam of ``engine.execution``, not on where code runs: it is
    given a checker, the tools, the limits and an ``ExecutionBackend`` that starts its runner."""

    def __init__(self, *, check: Checker, registry: ToolRegistry, limits: Limits,
                 backend: ExecutionBackend, permissions: ToolPermissions | None = None,
                 policy_digest: str = "") -> None:
        self._check = check
        self._policy_digest = policy_digest
        self._registry = registry
        self._permissions = permissions
        self._backend = backend
        self._limits = limits
        self._lock = threading.Lock()
        self._process: Runner | None = None
        self._history: list[_Recorded] = []
        self._history_bytes = 0
        self._replay_on = True
        self._snippets = 0
        self._interrupts = 0  # how many times interrupt() was called without a token
        self._targeted = 0  # ... and with one
        self._cancelled = _Tokens()  # tokens of runs interrupted before they ended
        self._running: int | None = None  # the token of the run holding the session
        self._closing = False
        # One seed for every process of the session: a restore replays the same draws.
        self._seed = secrets.randbits(63)
        self._stray = StrayCalls()
        self.context = SessionContext()
        self.closed = False

    @property
    def pid(self) -> int | None:
        """The pid of the process holding this session's state, if one is running."""
        return self._process.pid if self._process is not None else None

    def _spawn(self) -> Runner:
        return self._backend.runner(self._limits, seed=self._seed)

    def run(self, source: str, *, recorded: Sequence[ToolCall] | None = None,
            interrupts_seen: int | None = None, token: int | None = None) -> RunResult:
        """Check ``source`` with the session's names, and run it if every stage passes.

        With ``recorded`` (the tool calls of an earlier run of the same snippet, as a
        transcript keeps them) no tool is called: each call gets its recorded reply, and a call
        that differs from the record stops the snippet with ``R214``.

        An ``interrupt()`` after this call began stops it; ``interrupts_seen`` (an earlier
        ``interrupts`` reading) moves that point back to when the caller asked for the run,
        for a caller whose request and interrupt may arrive in either order (a pool worker).
        ``token`` names this run for ``interrupt(token)``, which stops this run only: not
        another that holds the session, and before it starts if it is still waiting for it.
        """
        since = self._interrupts if interrupts_seen is None else interrupts_seen
        replay = None
        if recorded is not None:
            replay = [r for r in map(CallRecord.from_public, recorded) if r is not None]
        if recorded is not None and len(replay or ()) != len(recorded):
            raise ValueError("the recorded tool calls do not hold their arguments and results "
                             "(the record budget was spent, or an older transcript)")
        with self._lock:
            self._running = token
            try:
                result = self._run_locked(source, replay, since, token)
                if self._policy_digest and not result.policy_digest:
                    result = result.model_copy(update={"policy_digest": self._policy_digest})
                return result
            finally:
                self._running = None
                if token is not None:
                    self._cancelled.discard(token)

    def _stopped(self, since: int, token: int | None) -> bool:
        return self._interrupts != since or (token is not None and token in self._cancelled)

    def _run_locked(self, source: str, replay: list[CallRecord] | None, since: int,
                    token: int | None) -> RunResult:
        if self.closed:
            raise RuntimeError("this session is closed")
        report = self._check(source, context=self.context)
        if not report.ok:
            return RunResult(ok=False, executed=False, diagnostics=report.diagnostics,
                             check=report)
        if self._process is None or not self._process.alive:
            self._process = self._spawn()
        broker = ToolBroker(self._registry, self._limits, replay=replay,
                            record_budget=self._record_budget, stray=self._stray,
                            permissions=self._permissions)
        try:
            # Asked at the last moment an interrupt cannot kill: while the snippet was
            # checked, its process started, or it waited for the session.
            executed = self._process.execute(
                source, broker, self._snippets + 1,
                stopped=lambda: self._stopped(since, token) or self._closing)
        except NotStarted:
            return RunResult(ok=False, executed=False, check=report, diagnostics=(
                *report.diagnostics,
                _whole(source, "R215", "the snippet was interrupted before it ran")))
        self._snippets += 1
        diagnostics = list(report.diagnostics) + _runtime_diagnostics(
            source, executed, self._limits, broker)
        if broker.unused and not broker.diverged:
            diagnostics.append(_whole(
                source, "R214", f"the snippet made {len(broker.calls)} tool calls; the "
                f"record has {len(broker.calls) + broker.unused}", severity=Severity.WARNING))
        restarted, lost = False, tuple[str, ...]()
        if executed.died and self._closing:  # stopped by close(): nothing to restore
            self._process = None
        elif executed.died:
            restarted = True
            lost = self._restore()
            diagnostics.append(_restart_note(source, lost))
        ok = executed.outcome is Outcome.OK
        if ok:
            self.context = self.context.extended(report.bindings)
            self._remember(source, broker)
        return _result(source, report, executed, broker, diagnostics, ok, restarted, lost)

    def check(self, source: str) -> CheckReport:
        """Check ``source`` with the names this session holds; nothing runs."""
        return self._check(source, context=self.context)

    async def arun(self, source: str) -> RunResult:
        """``run`` for asyncio code: the snippet runs on a worker thread, the event loop goes
        on; cancelling the await interrupts the snippet (``R215``)."""
        return await run_in_thread(self, source)

    def interrupt(self, token: int | None = None) -> None:
        """Stop the snippet this session is running, from another thread or a signal handler
        (the REPL's Ctrl-C). It ends with ``R215``; the session's state is restored as after
        any kill. Nothing happens when no snippet is running.

        With ``token``, stop only the run given that token (``run(token=...)``): if another
        run holds the session, that one goes on, and the named run, still waiting, never
        starts. A token whose run has not arrived yet is remembered (the last 256)."""
        if token is None:
            self._interrupts += 1
            process = self._process
            if process is not None and self._lock.locked():
                process.interrupt()
            return
        self._targeted += 1
        self._cancelled.add(token)
        if len(self._cancelled) > CANCELLED_TOKENS:
            self._cancelled.pop_oldest()
        process = self._process
        if process is not None and self._running == token:
            process.interrupt()

    @property
    def interrupts(self) -> int:
        """How many times ``interrupt()`` was called (see ``run(interrupts_seen=...)``)."""
        return self._interrupts + self._targeted

    @property
    def _replayable(self) -> bool:
        return self._replay_on and len(self._history) <= REPLAY_MAX_SNIPPETS

    @property
    def _record_budget(self) -> int:
        """Bytes of tool calls the next snippet may have recorded for replay."""
        return max(0, REPLAY_BUDGET_BYTES - self._history_bytes) if self._replay_on else 0

    def _remember(self, source: str, broker: ToolBroker) -> None:
        recorded = _Recorded(source, list(broker.calls))
        if not (self._replayable and broker.replayable
                and self._history_bytes + recorded.size <= REPLAY_BUDGET_BYTES):
            # Past the budget replay is off for good: what was kept is freed, not grown.
            self._replay_on = False
            self._history.clear()
            self._history_bytes = 0
            return
        self._history.append(recorded)
        self._history_bytes += recorded.size

    def _restore(self) -> tuple[str, ...]:
        """Start a new process and replay the history into it; return the names lost."""
        self._process = None
        if self._history and self._replayable:
            # Held as the session's process while it replays, so that interrupt() reaches it.
            process = self._process = self._spawn()
            deadline = time.monotonic() + REPLAY_MAX_SECONDS
            try:
                exact = all(self._replay(process, item) and time.monotonic() < deadline
                            for item in self._history)
            except BaseException:
                process.close()
                self._process = None
                raise
            if exact:
                return ()
            process.close()
            self._process = None
        lost = tuple(sorted(self.context.names))
        self.context = SessionContext()
        self._history.clear()
        self._history_bytes = 0
        self._replay_on = True  # a fresh start: nothing recorded yet
        self._process = self._spawn()
        return lost

    def _replay(self, process: Runner, item: _Recorded) -> bool:
        self._snippets += 1
        broker = ToolBroker(self._registry, self._limits, replay=item.calls)
        executed = process.execute(item.source, broker, self._snippets)
        return executed.outcome is Outcome.OK and not broker.diverged and not broker.unused

    def close(self) -> None:
        """Close the session; a snippet still running is stopped first (and not restored)."""
        self._closing = True
        process = self._process
        if process is not None and self._lock.locked():
            process.interrupt()
        with self._lock:
            self.closed = True
            if self._process is not None:
                self._process.close()
                self._process = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Interruptible(Protocol):
    def run(self, source: str, *, token: int | None = None) -> RunResult: ...

    def interrupt(self, token: int | None = None) -> None: ...



async def run_in_thread(session: Interruptible, source: str) -> RunResult:
    """``session.run(source)`` on a thread of asyncio's default executor; cancelling the
    await interrupts the snippet and returns once it has stopped. (``AsyncEngine`` runs on
    an executor of its own, sized for the snippets it runs at once.)"""
    token = run_token()
    return await interruptible(lambda: session.run(source, token=token),
                               lambda: session.interrupt(token))


def _whole(source: str, code: codes.CodeName, message: str, hint: str | None = None,
           severity: Severity = Severity.ERROR) -> Diagnostic:
    """A diagnostic about the snippet as a whole (a process-level event has no line)."""
    lines = source.splitlines() or [""]
    return codes.diagnostic(code, message, source=source, end_line=len(lines),
                            end_column=len(lines[-1]) + 1, severity=severity, hint=hint)


def _runtime_diagnostics(source: str, executed: Executed, limits: Limits,
                         broker: ToolBroker | None = None) -> list[Diagnostic]:
    reported = executed.reported
    if reported is not None:
        return [] if reported.error is None else [_from_child_error(source, reported.error)]
    kind = executed.outcome
    if kind is Outcome.CPU:
        return [_whole(source, "R203", f"the snippet used more than {limits.cpu_seconds:g} s "
                                       "of CPU and was stopped")]
    if kind is Outcome.TIMEOUT:
        # The time it really took: a tool cannot be interrupted, so a slow one runs over.
        message = (f"the snippet ran for {executed.wall_ms / 1000:.1f} s, past its "
                   f"{limits.timeout_seconds:g} s limit, and was stopped")
        slowest = max(broker.calls, key=lambda c: c.duration_ms, default=None) if broker \
            else None
        if slowest is not None and slowest.duration_ms >= limits.timeout_seconds * 500:
            message += (f"; the tool {slowest.tool}() alone took "
                        f"{slowest.duration_ms / 1000:.1f} s")
            if limits.tool_timeout_seconds is None:
                message += " (limits.tool_timeout_seconds bounds one tool call)"
        return [_whole(source, "R201", message)]
    if kind is Outcome.INTERRUPTED:
        return [_whole(source, "R215", "the snippet was interrupted and stopped")]
    if kind is Outcome.PROTOCOL:
        return [_whole(source, "R211", f"the sandbox process broke the protocol "
                                       f"({executed.detail}) and was stopped")]
    if kind is Outcome.VIOLATION:
        return [_whole(source, "R207", "the snippet made a system call the sandbox forbids; "
                                       "the process was killed")]
    return [_whole(source, "R208", f"the sandbox process {executed.detail}")]


def _from_child_error(source: str, error: ReportedError) -> Diagnostic:
    code = error.catalogued
    if error.line is None:
        return _whole(source, code, error.message)
    end_line = error.end_line if error.end_line is not None and error.end_line >= error.line \
        else None
    return codes.diagnostic(code, error.message, source=source, line=error.line,
                            column=error.column or 1, end_line=end_line,
                            end_column=error.end_column if end_line is not None else None)


def _restart_note(source: str, lost: tuple[str, ...]) -> Diagnostic:
    if not lost:
        return _whole(source, "R212", "the session process was restarted; the state from "
                      "before this snippet was restored", severity=Severity.NOTE)
    return _whole(source, "R213", "the session process was restarted and earlier names are "
                  "lost: " + ", ".join(lost), severity=Severity.WARNING)


def _result(source: str, report: CheckReport, executed: Executed, broker: ToolBroker,
            diagnostics: list[Diagnostic], ok: bool, restarted: bool,
            lost: tuple[str, ...]) -> RunResult:
    outcome = executed.reported or Reported(id=0, ok=False)
    calls = tuple(c.public() for c in broker.calls)
    usage = Usage(
        wall_ms=round(executed.wall_ms, 3),
        cpu_ms=round(executed.cpu_ms, 3),
        peak_memory_bytes=outcome.peak_memory_bytes,
        tool_calls=len(calls),
        output_bytes=outcome.output_bytes,
    )
    return RunResult(
        ok=ok, executed=True,
        stdout=outcome.stdout, stderr=outcome.stderr, output_truncated=outcome.truncated,
        value=outcome.value, final=outcome.final,
        diagnostics=tuple(diagnostics), check=report, tool_calls=calls, usage=usage,
        traceback=outcome.error.traceback if outcome.error else None,
        names=tuple(outcome.names),
        restarted=restarted, lost_names=lost,
    )


__all__ = ["REPLAY_BUDGET_BYTES", "Session"]

"""Check workers: the static stages in separate processes, each check under a budget.

A snippet can make analysis slow (mypy's inference on nested generic calls takes minutes on a
200-byte snippet). The engine's own process must never wait for that, nor may one snippet
hold up the checks of other sessions. So checks run in a small pool of warm worker processes
(``engine.checkworker``); a check that runs past the policy's ``limits.check_seconds`` has its
worker killed, the snippet gets a diagnostic (P153, or T197 in the type stage) and a new worker
is started (the caller of the costly check waits for it; nobody else does). Several workers
also let checks use every core.

A worker's process may have been started before its pool existed (``engine.checkspawn``):
the next worker a pool needs is then that one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

from engine import codes
from engine.checkspawn import WorkerProcess, take_prestarted
from engine.checkspec import CheckSpec
from engine.checkworker import FAILED, STAGE_ORDER, CheckReply, CheckRequest
from engine.diagnostics import Stage
from engine.errors import CheckerUnavailableError
from engine.results import CheckReport, StageReport, StageStatus, with_skipped
from engine.typecheck.context import SessionContext

#: How long a new worker may take to import and warm its checker.
START_SECONDS = 60.0
#: A check still running after this long is probably a costly one: its worker yields the CPU
#: to everything else (SCHED_IDLE, nice 19) for the rest of its budget.
DEMOTE_SECONDS = 0.1
DEMOTED_NICE = 19
#: A report is small (findings are capped per stage); a worker that sends more is broken.
_REPLY_BYTES = 8 * 1024 * 1024


class _Overrun:
    """Why a worker gave no report: it ran past the budget, ran out of memory, or died."""

    def __init__(self, stage: Stage, reason: str) -> None:
        self.stage = stage
        self.reason = reason


class _Worker:
    """One worker of a pool, from start to kill."""

    def __init__(self, started: WorkerProcess, spec_json: bytes) -> None:
        self.started = started
        self.process = started.process
        self.connection = started.connection
        started.start(spec_json)

    def ready(self, timeout: float) -> None:
        try:
            if not self.connection.poll(timeout):
                raise CheckerUnavailableError(
                    f"the check worker did not start within {timeout:g} s")
            message = self.connection.recv_bytes()
        except (EOFError, OSError):
            message = FAILED + self.started.stderr_tail().encode()
        if message.startswith(FAILED):
            self.kill()
            detail = message[1:].decode("utf-8", "replace") or "(no message)"
            raise CheckerUnavailableError(f"the check worker failed to start: {detail}")

    def check(self, request: bytes, budget: float) -> CheckReport | _Overrun:
        started = time.monotonic()
        deadline = started + budget
        demoted = False
        try:
            self.started.stage = 0  # the worker moves it on as its stages start
            self.connection.send_bytes(request)
            while True:
                remaining = deadline - time.monotonic()
                if not demoted:
                    remaining = min(remaining, started + DEMOTE_SECONDS - time.monotonic())
                if remaining <= 0 or not self.connection.poll(max(remaining, 0)):
                    if not demoted and time.monotonic() < deadline:
                        demoted = self._priority(DEMOTED_NICE)
                        continue
                    return _Overrun(self._stage(), f"ran for more than {budget:g} s")
                message = self.connection.recv_bytes(_REPLY_BYTES)
                if message.startswith(FAILED):
                    return _Overrun(self._stage(), "needed more memory than the policy allows")
                else:
                    reply = CheckReply.model_validate_json(message)
                    if demoted:
                        self._priority(0)
                    return reply.report.model_copy(update={"bindings": reply.bindings})
        except (EOFError, OSError):
            return _Overrun(self._stage(), "made the checker fail")

    def _stage(self) -> Stage:
        index = self.started.stage
        return STAGE_ORDER[index] if index < len(STAGE_ORDER) else Stage.PARSE

    def _priority(self, nice: int) -> bool:
        """Demote the worker (``nice`` > 0) to run only when a CPU is otherwise idle, or give
        it back its normal priority; False if the system would not (going back to normal
        needs privilege: a worker that stays demoted only checks at a lower priority)."""
        idle = getattr(os, "SCHED_IDLE", None)  # Linux only; elsewhere the nice value alone
        try:  # Linux schedules threads: every thread of the worker
            threads = [int(t) for t in os.listdir(f"/proc/{self.process.pid}/task")]
        except OSError:
            threads = [self.process.pid]
        try:
            for thread in threads:
                if idle is not None:
                    os.sched_setscheduler(thread, idle if nice else os.SCHED_OTHER,
                                          os.sched_param(0))
                os.setpriority(os.PRIO_PROCESS, thread, nice)
        except OSError:
            return False
        return True

    def kill(self) -> None:
        self.started.kill()


class CheckPool:
    """Up to ``size`` warm workers; started on demand, replaced when killed. Thread-safe."""

    def __init__(self, spec: CheckSpec, *, size: int = 2) -> None:
        if size < 1:
            raise ValueError("a check pool needs at least one worker")
        self.size = size
        self.budget = spec.policy.limits.check_seconds
        self.spec_json = spec.model_dump_json().encode()
        self.types = spec.check_types
        self._lock = threading.Condition()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._slots = 0  # workers running or starting
        self._closed = False
        self.replaced = 0  # workers killed for a snippet: a figure for tests and operators

    def _start(self, idle: bool = False) -> _Worker:
        try:
            worker = _Worker(take_prestarted() or WorkerProcess(self.types), self.spec_json)
            if idle:
                worker._priority(DEMOTED_NICE)
            worker.ready(START_SECONDS)
        except BaseException:
            with self._lock:
                self._slots -= 1
                self._lock.notify()
            raise
        return worker

    def _acquire(self) -> _Worker:
        with self._lock:
            while True:
                if self._closed:
                    raise CheckerUnavailableError("the engine is closed")
                if self._idle:
                    worker = self._idle.pop()
                    self._busy.add(worker)
                    return worker
                if self._slots < self.size:
                    self._slots += 1
                    break
                self._lock.wait()
        worker = self._start()
        with self._lock:
            self._busy.add(worker)
        return worker

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            if not self._closed:
                self._idle.append(worker)
                self._lock.notify()
                return
        worker.kill()

    def _replace(self, worker: _Worker) -> None:
        """Kill a worker and start its successor in the caller's own time: whoever sent the
        costly snippet waits for the repair, so a stream of costly snippets slows its sender,
        not the checks of others (who keep the pool's other workers meanwhile)."""
        with self._lock:
            self._busy.discard(worker)
            self.replaced += 1
            closed = self._closed
            if closed:
                self._slots -= 1
        worker.kill()
        if closed:
            return
        try:
            # At idle priority: it costs a second of CPU, which is the sender's to wait for,
            # not other checks' to give up.
            fresh = self._start(idle=True)
        except Exception:
            return  # _start gave the slot back; the next check reports what went wrong
        fresh._priority(0)
        self._release(fresh)

    def warm(self, workers: int = 1) -> None:
        """Have ``workers`` workers ready (each takes about a second to start; they start
        side by side)."""
        wanted = min(workers, self.size)
        held = [self._acquire()]  # the first in this thread: its failure is raised here
        starters = [threading.Thread(target=lambda: held.append(self._acquire()), daemon=True)
                    for _ in range(wanted - 1)]
        for thread in starters:
            thread.start()
        for thread in starters:
            thread.join()
        for worker in held:
            self._release(worker)

    def check(self, source: str, context: SessionContext) -> CheckReport:
        # Encoded before a worker is taken: a request that cannot be sent must not keep one.
        request = CheckRequest(source=source, bindings=context.bindings)
        payload = request.model_dump_json().encode()
        worker = self._acquire()
        try:
            outcome = worker.check(payload, self.budget)
        except BaseException:
            self._replace(worker)  # its state is unknown: a fresh one takes its place
            raise
        if isinstance(outcome, CheckReport):
            self._release(worker)
            return outcome
        self._replace(worker)
        return too_costly(source, outcome.stage, outcome.reason, self.budget)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._slots -= len(idle)
            busy = list(self._busy)
            self._lock.notify_all()
        for worker in idle:
            worker.kill()
        for worker in busy:  # their checks end as failed; _release kills them
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.process.pid, signal.SIGKILL)


#: Engines with the same policy and tools share one pool: workers are stateless between
#: checks, and starting one (a second of CPU) is the cost worth sharing. A pool no engine
#: uses any more lingers briefly, for the engine that is created next with the same tools.
LINGER_SECONDS = 30.0
_SHARED: dict[tuple[bytes, int], tuple[CheckPool, int]] = {}
_SHARED_LOCK = threading.Lock()
_LINGERING: dict[tuple[bytes, int], threading.Timer] = {}


def acquire_pool(spec: CheckSpec, size: int) -> CheckPool:
    """The shared pool for ``spec`` (started lazily); give it back with ``release_pool``."""
    key = (spec.model_dump_json().encode(), size)
    with _SHARED_LOCK:
        timer = _LINGERING.pop(key, None)
        if timer is not None:
            timer.cancel()
        pool, users = _SHARED.get(key, (None, 0))
        if pool is None:
            pool = CheckPool(spec, size=size)
        _SHARED[key] = (pool, users + 1)
        return pool


def release_pool(pool: CheckPool) -> None:
    key = (pool.spec_json, pool.size)
    with _SHARED_LOCK:
        found, users = _SHARED.get(key, (None, 0))
        if found is not pool:
            return
        if users > 1:
            _SHARED[key] = (pool, users - 1)
            return
        timer = threading.Timer(LINGER_SECONDS, _expire, (key, pool))
        timer.daemon = True
        _SHARED[key] = (pool, 0)
        _LINGERING[key] = timer
        timer.start()


def close_unused_pools() -> int:
    """Close the pools no engine uses now instead of letting them linger; returns how many.

    For hosts that want the memory back at once, and for measurements of a cold start."""
    with _SHARED_LOCK:
        unused = [(key, pool) for key, (pool, users) in _SHARED.items() if not users]
        timers = [_LINGERING.pop(key) for key, _ in unused if key in _LINGERING]
    for timer in timers:
        timer.cancel()
        timer.join()
    for key, pool in unused:
        _expire(key, pool)
    return len(unused)


def _expire(key: tuple[bytes, int], pool: CheckPool) -> None:
    with _SHARED_LOCK:
        found, users = _SHARED.get(key, (None, 0))
        if found is not pool or users:
            return
        del _SHARED[key]
        _LINGERING.pop(key, None)
    pool.close()


def too_costly(source: str, stage: Stage, reason: str, budget: float) -> CheckReport:
    """The report for a snippet whose check was stopped."""
    in_types = stage is Stage.TYPES
    label = "type check" if in_types else "policy check"
    diagnostic = codes.diagnostic(
        "T197" if in_types else "P153",
        f"the snippet is too costly to check: its {label} {reason} and was stopped "
        f"(the budget is {budget:g} s)", source=source)
    order = (Stage.PARSE, Stage.POLICY, Stage.TYPES)
    failed = diagnostic.stage
    stages = [StageReport(stage=s, status=StageStatus.PASSED)
              for s in order[:order.index(failed)]]
    stages.append(StageReport(stage=failed, status=StageStatus.FAILED, duration_ms=budget * 1000))
    return CheckReport(ok=False, diagnostics=(diagnostic,), stages=tuple(with_skipped(stages)))


__all__ = ["CheckPool", "acquire_pool", "close_unused_pools", "release_pool", "too_costly"]

"""Every core: a pool of worker processes, each holding a warm engine of its own.

One ``Engine`` checks one snippet at a time per check worker and runs its tools in the
calling process; the GIL keeps threads from going faster. ``EnginePool`` starts N worker
processes (``workers="auto"``: one per core), each with its own checker, zygote and tools,
and pins each session to one of them: the session's snippets are checked, run and brokered
there, and its tools run in that worker. Tools are therefore named by their module spec
(``"examples.toolsets.users"``), which every worker imports for itself.

    pool = EnginePool("examples.toolsets.users", "default", workers=2)
    with pool.session() as session:
        session.run("n = len(get_all_users())")
    pool.close()

A worker is trusted code (the engine and your tools); the snippets still run in its
sandboxed children. If a worker dies, its sessions are lost (``WorkerLostError``) and the
next session starts a new worker in its place.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, Literal

from pydantic import BaseModel

from engine.agent.model import BackendName
from engine.errors import EngineError
from engine.pipeline import Isolation
from engine.policy.model import Policy
from engine.results import CheckReport, RunResult
from engine.session import Session, run_in_thread

Workers = int | Literal["auto"]
#: How long a worker may take to start (import the tools, warm its checkers and zygote).
START_SECONDS = 120.0


class WorkerLostError(EngineError):
    """The worker process that held a session died; the session's state is gone."""


class AgentOutcome(BaseModel):
    """What an agent run in a worker came to (see ``EnginePool.agent``)."""

    ok: bool
    value: Any = None
    stop_reason: str
    turns: int
    error: str | None = None


def default_answer_seconds(policy: Policy) -> float:
    """The longest a worker may take to answer one request before it counts as stuck: a
    snippet's check and run, a restore after a kill (replaying up to 10 s of history, then
    the snippet's time again), and slow tools (their limit, or ten minutes)."""
    limits = policy.limits
    return (limits.check_seconds + 3 * limits.timeout_seconds + 10.0
            + (limits.tool_timeout_seconds or 600.0) + 60.0)


def worker_count(workers: Workers) -> int:
    if workers == "auto":
        return max(1, len(os.sched_getaffinity(0)))
    if workers < 1:
        raise ValueError("workers must be at least 1 (or 'auto')")
    return workers


class WorkerLink:
    """The host's end of one worker (a process, or a Ray actor): ``request`` sends one
    request to its ``EngineHost`` and returns the answer, or raises ``WorkerLostError``."""

    def __init__(self) -> None:
        self.sessions = 0  # sessions pinned to it (the pool's count)
        self.lost = False

    @property
    def pid(self) -> int | None:
        return None

    def start(self, timeout: float = START_SECONDS) -> None:
        """Wait until the worker's engine is warm (workers start side by side)."""
        raise NotImplementedError

    def request(self, *message: Any) -> Any:
        raise NotImplementedError

    def notify(self, *message: Any) -> None:
        """Send a request whose answer nobody waits for (an interrupt): it never blocks on
        the worker, and the worker serves it at once, not behind the runs it may stop."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _Worker(WorkerLink):
    """One worker process and the connection to it. Requests are tagged and answered as
    they finish, so a worker serves many sessions at once (its engine has two check workers
    and a sandboxed child per session; its threads mostly wait on them).

    Started by exec, not multiprocessing's spawn (which re-imports the caller's ``__main__``
    and so fails in a script without a main guard), with the caller's ``sys.path`` and
    working directory so that it imports the tools as the caller would."""

    def __init__(self, tools: str | None, policy: Policy, isolation: Isolation,
                 check_types: bool, check_workers: int = 2,
                 answer_seconds: float | None = None) -> None:
        ours, theirs = socket.socketpair()
        path = os.pathsep.join(p or os.getcwd() for p in sys.path)
        try:
            output: Any = sys.stderr.fileno()  # a tool's prints never land on our stdout
        except (AttributeError, OSError, ValueError):
            output = subprocess.DEVNULL
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP, str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=output,
                env={**os.environ, "PYTHONPATH": path}, cwd=os.getcwd())
        self.conn = Connection(ours.detach())
        super().__init__()
        # Reentrant: a failed send inside the lock marks the worker lost, which takes it again.
        self._send_lock = threading.RLock()
        self._ids = itertools.count(1)
        self._waiting: dict[int, Future[Any]] = {}
        self.answer_seconds = answer_seconds
        with contextlib.suppress(OSError):  # a worker that died at once: wait_ready says so
            self.conn.send((tools, policy.model_dump_json(), policy.source, isolation,
                            check_types, check_workers))

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self, timeout: float = START_SECONDS) -> None:
        """Wait for the worker's engine to be warm (workers start side by side)."""
        try:
            if not self.conn.poll(timeout):
                self.close()
                raise EngineError(f"a worker did not start within {timeout:g} s")
            ready: tuple[str, Any] = self.conn.recv()
        except (EOFError, OSError) as exc:
            self.close()
            raise EngineError(f"a worker could not start (exit code {self.process.poll()}): "
                              f"{exc or 'it closed the connection'}") from None
        if ready[0] != "ready":
            self.close()
            raise EngineError(f"a worker could not start: {ready[1]}")
        self._reader = threading.Thread(target=self._read_replies, name="codeact-pool-reader",
                                        daemon=True)
        self._reader.start()

    def request(self, *message: Any) -> Any:
        waiting: Future[Any] = Future()
        with self._send_lock:
            if self.lost:
                raise WorkerLostError("the worker that held this session is gone")
            number = next(self._ids)
            self._waiting[number] = waiting
            try:
                self.conn.send((number, *message))
            except (OSError, ValueError):
                self._waiting.pop(number, None)
                self._lose()
                raise WorkerLostError("the worker that held this session is gone") from None
        try:
            return waiting.result(self.answer_seconds)
        except FutureTimeout:
            # A worker that holds a request this long is stuck (stopped, deadlocked): it is
            # killed, its sessions are lost, and a new one takes its place.
            self.process.kill()
            self._lose()
            raise WorkerLostError(f"the worker did not answer within {self.answer_seconds:g} "
                                  "s and was stopped; its sessions are lost") from None

    def notify(self, *message: Any) -> None:
        with self._send_lock:
            if self.lost:
                return
            try:
                self.conn.send((0, *message))  # answer 0 is waited for by no one
            except (OSError, ValueError):
                self._lose()

    def _read_replies(self) -> None:
        while True:
            try:
                number, status, payload = self.conn.recv()
            except (EOFError, OSError, ValueError):
                self._lose()
                return
            waiting = self._waiting.pop(number, None)
            if waiting is None:
                continue
            if status == "ok":
                waiting.set_result(payload)
            else:
                waiting.set_exception(EngineError(payload))

    def _lose(self) -> None:
        with self._send_lock:
            self.lost = True
            waiting, self._waiting = self._waiting, {}
        code = self.process.poll()
        for future in waiting.values():
            future.set_exception(WorkerLostError(
                f"the worker process died (exit code {code}); its sessions are lost"))

    def close(self) -> None:
        with self._send_lock:
            if not self.lost:
                with contextlib.suppress(OSError, ValueError):
                    self.conn.send((0, "quit"))
            self.lost = True
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.conn.close()


class PooledSession:
    """A session held by one worker of a pool; ``run``, ``check``, ``interrupt`` and
    ``arun`` as on ``Session``."""

    def __init__(self, link: WorkerLink, key: int, release: Callable[[WorkerLink], None]) -> None:
        self._link = link
        self._key = key
        self._release = release
        self._interrupts = 0
        self.closed = False

    @property
    def worker_pid(self) -> int | None:
        """The pid of the worker process that holds this session (None for a Ray actor)."""
        return self._link.pid

    def run(self, source: str, *, token: int | None = None) -> RunResult:
        """As ``Session.run``; ``token`` names the run for ``interrupt(token)``."""
        if self.closed:
            raise RuntimeError("this session is closed")
        # The worker's session counts only this session's interrupts: one sent after this
        # call stops this run, even if the worker serves it first.
        return RunResult.model_validate_json(
            self._link.request("run", self._key, source, self._interrupts, token))

    def check(self, source: str) -> CheckReport:
        """Check ``source`` with the names this session holds; nothing runs."""
        if self.closed:
            raise RuntimeError("this session is closed")
        return CheckReport.model_validate_json(self._link.request("check", self._key,
                                                                     source))

    def interrupt(self, token: int | None = None) -> None:
        """Stop the snippet this session is running (``R215``; the session is restored), or
        with ``token`` only the run given it. Never waits for the worker."""
        if not self.closed:
            if token is None:
                self._interrupts += 1
            self._link.notify("interrupt", self._key, token)

    async def arun(self, source: str) -> RunResult:
        """``run`` for asyncio code; cancelling the await interrupts the snippet."""
        return await run_in_thread(self, source)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._link.request("close", self._key)
        except (WorkerLostError, EngineError):
            pass
        finally:
            self._release(self._link)

    def __enter__(self) -> PooledSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Pool:
    """Workers with a warm engine each, and sessions pinned to them: what ``EnginePool``
    (processes on this machine) and ``RayPool`` (actors of a cluster) share. A lost worker
    is replaced when the next session is placed."""

    def __init__(self, tools: str | None, policy: Policy | str) -> None:
        self.tools = tools
        self.policy = policy if isinstance(policy, Policy) else Policy.load(policy)
        self.size = 0
        self.start_timeout = START_SECONDS
        self._lock = threading.Lock()
        self._keys = itertools.count(1)
        self._closed = False
        self._links: list[WorkerLink] = []

    @property
    def open_sessions(self) -> int:
        """Sessions pinned to the pool's workers now (opened and not yet closed)."""
        with self._lock:
            return sum(link.sessions for link in self._links)

    def _new_link(self) -> WorkerLink:
        """A worker being started (``start`` waits for it)."""
        raise NotImplementedError

    def _start_all(self, size: int) -> None:
        self.size = size
        try:
            self._links = [self._new_link() for _ in range(size)]
            for link in self._links:  # they start side by side
                link.start(self.start_timeout)
        except BaseException:
            self.close()
            raise

    def _pick(self) -> WorkerLink:
        with self._lock:
            if self._closed:
                raise RuntimeError("this pool is closed")
            for index, link in enumerate(self._links):
                if link.lost:  # a new worker takes a dead one's place
                    link.close()
                    fresh = self._new_link()
                    fresh.start(self.start_timeout)
                    self._links[index] = fresh
            chosen = min(self._links, key=lambda c: c.sessions)
            chosen.sessions += 1
            return chosen

    def _release(self, link: WorkerLink) -> None:
        with self._lock:
            link.sessions -= 1

    def session(self) -> PooledSession:
        """A new session on the worker with the fewest sessions."""
        link = self._pick()
        key = next(self._keys)
        try:
            link.request("open", key)
        except BaseException:
            self._release(link)
            raise
        return PooledSession(link, key, self._release)

    def run(self, source: str) -> RunResult:
        """Check and run one snippet in a fresh session."""
        with self.session() as session:
            return session.run(source)

    def agent(self, task: str, *, model: str, max_turns: int = 10, host: str | None = None,
              backend: BackendName = "ollama") -> AgentOutcome:
        """Solve ``task`` with a CodeAct agent on a local model, in one worker."""
        link = self._pick()
        try:
            return AgentOutcome.model_validate_json(
                link.request("agent", task, model, max_turns, host, backend))
        finally:
            self._release(link)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            links, self._links = self._links, []
        for link in links:
            link.close()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class EnginePool(Pool):
    """N worker processes with a warm engine each; sessions are pinned to one worker.

    ``tools`` is a module spec (``module``, ``module:ATTR`` or a ``.py`` file) that each
    worker loads; ``policy`` a bundled name, a file, or a ``Policy``.
    """

    def __init__(self, tools: str | None = None, policy: Policy | str = "default", *,
                 workers: Workers = "auto", isolation: Isolation = "seccomp",
                 check_types: bool = True, check_workers: int = 2,
                 answer_seconds: float | None = None) -> None:
        super().__init__(tools, policy)
        self.isolation = isolation
        self.check_types = check_types
        self.check_workers = check_workers
        self.answer_seconds = answer_seconds or default_answer_seconds(self.policy)
        self._start_all(worker_count(workers))

    def _new_link(self) -> _Worker:
        return _Worker(self.tools, self.policy, self.isolation, self.check_types,
                       self.check_workers, self.answer_seconds)

    def __enter__(self) -> EnginePool:
        return self


_BOOTSTRAP = "import sys; from engine.workers import serve; serve(int(sys.argv[1]))"
#: Requests one worker serves at once: each mostly waits on a check worker or a sandboxed
#: child, so more than the cores, but bounded (one session's requests come one at a time).
REQUESTS_AT_ONCE = 16


class EngineHost:
    """The worker's side: a warm engine and the sessions pinned to it. A pool worker
    serves requests to it (``serve``); a Ray actor is one (``engine.distributed``)."""

    #: The requests a pool may send: the methods below, nothing else.
    REQUESTS = frozenset({"ready", "open", "run", "check", "interrupt", "close", "agent"})

    def __init__(self, tools: str | None, policy_json: str, source: str,
                 isolation: Isolation, check_types: bool, check_workers: int = 2) -> None:
        from engine.pipeline import Engine
        from engine.tools import ToolRegistry, load_tools

        policy = Policy.model_validate_json(policy_json).model_copy(update={"source": source})
        registry = load_tools(tools) if tools else ToolRegistry()
        self.engine = Engine(registry, policy, isolation=isolation, check_types=check_types,
                             check_workers=check_workers)
        try:
            self.engine.warm_up(all_workers=True)
            self.engine.session().close()  # fail now, clearly, if the sandbox cannot run
        except BaseException:
            self.engine.close()
            raise
        self.sessions: dict[int, Session] = {}

    def ready(self) -> int:
        return os.getpid()

    def open(self, key: int) -> None:
        self.sessions[key] = self.engine.session()

    def run(self, key: int, source: str, interrupts_seen: int | None = None,
            token: int | None = None) -> str:
        result = self.sessions[key].run(source, interrupts_seen=interrupts_seen, token=token)
        return result.model_dump_json()

    def check(self, key: int, source: str) -> str:
        return self.sessions[key].check(source).model_dump_json()

    def interrupt(self, key: int, token: int | None = None) -> None:
        session = self.sessions.get(key)
        if session is not None:
            session.interrupt(token)

    def close(self, key: int) -> None:
        session = self.sessions.pop(key, None)
        if session is not None:
            session.close()

    def agent(self, task: str, model: str, max_turns: int, host: str | None,
              backend: BackendName = "ollama") -> str:
        from engine.agent import CodeActAgent, ModelError
        from engine.agent.backends import connect

        try:
            llm = connect(backend, model, host=host)
        except ModelError as exc:  # the openai extra is not installed where the worker runs
            return AgentOutcome(ok=False, value=None, stop_reason="model_error", turns=0,
                                error=str(exc)).model_dump_json()
        answer = CodeActAgent(self.engine, llm, max_turns=max_turns).run(task)
        return AgentOutcome(ok=answer.stop_reason in ("final_answer", "answered"),
                            value=answer.value, stop_reason=answer.stop_reason,
                            turns=answer.turns, error=answer.error).model_dump_json()

    def shutdown(self) -> None:
        for session in list(self.sessions.values()):
            session.close()
        self.engine.close()


def serve(fd: int) -> None:
    """A worker's loop: build the engine once, then answer requests until told to quit."""
    conn = Connection(fd)
    try:
        settings = conn.recv()
    except (EOFError, OSError):
        return
    try:
        host = EngineHost(*settings)
    except Exception as exc:  # reported to the pool, which raises it where it was created
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    send_lock = threading.Lock()

    def answer(number: int, op: str, args: list[Any]) -> None:
        try:
            if op not in EngineHost.REQUESTS:
                raise ValueError(f"unknown request {op!r}")
            reply: tuple[int, str, Any] = (number, "ok", getattr(host, op)(*args))
        except Exception as exc:
            reply = (number, "error", f"{type(exc).__name__}: {exc}")
        with send_lock, contextlib.suppress(OSError, ValueError):
            conn.send(reply)

    executor = ThreadPoolExecutor(REQUESTS_AT_ONCE, thread_name_prefix="codeact-request")
    try:
        while True:
            try:
                number, op, *args = conn.recv()
            except (EOFError, OSError):
                break
            if op == "quit":
                break
            if op == "interrupt":  # at once: the runs it stops may hold every request thread
                answer(number, op, args)
                continue
            executor.submit(answer, number, op, args)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        host.shutdown()


__all__ = [
    "AgentOutcome",
    "EngineHost",
    "EnginePool",
    "Pool",
    "PooledSession",
    "WorkerLink",
    "WorkerLostError",
    "serve",
    "worker_count",
]

"""Many machines: the workers of an ``EnginePool`` as Ray actors.

Each actor holds a warm engine (checker, zygote, tools) for its whole life: a new engine per
Ray task would pay the cold start of mypy (~0.6 s) for every snippet. A session is pinned to
one actor; its snippets are checked and run on that actor's node, and its tools run there,
imported from the same module spec on every node. Needs the ``ray`` extra, and seccomp on
every node that runs snippets.

    pool = RayPool("examples.toolsets.users", "default", address="local")   # or "auto", or
    with pool.session() as session:                                       # "ray://host:10001"
        session.run("n = len(get_all_users())")
    pool.close()

``address="local"`` starts a Ray instance on this machine (and stops it on ``close``);
``"auto"`` or an address joins a running cluster (``ray start --head`` / ``--address``). If
Ray is already initialised in this process, that instance is used as it is.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import os
import sys
import threading
from types import TracebackType
from typing import Any

from engine.errors import EngineError
from engine.pipeline import Isolation
from engine.policy.model import Policy
from engine.results import CheckReport, RunResult
from engine.workers import AgentOutcome, WorkerLostError, default_answer_seconds

#: Calls one actor serves at once (each mostly waits on a check worker or a sandboxed child).
ACTOR_CONCURRENCY = 16


def _ray() -> Any:
    """Ray, untyped here (its own annotations do not pass mypy --strict), or a clear error."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise EngineError("Ray is not installed: from a checkout of codeact-engine, "
                          "pip install -e '.[ray]'") from None


class EngineActor:
    """The body of one Ray actor: a warm engine and the sessions pinned to it."""

    def __init__(self, tools: str | None, policy_json: str, source: str,
                 isolation: Isolation, check_types: bool) -> None:
        from engine.pipeline import Engine
        from engine.tools import ToolRegistry, load_tools

        policy = Policy.model_validate_json(policy_json).model_copy(update={"source": source})
        registry = load_tools(tools) if tools else ToolRegistry()
        self.engine = Engine(registry, policy, isolation=isolation, check_types=check_types)
        self.engine.warm_up(all_workers=True)
        self.engine.session().close()  # fail now, clearly, if the sandbox cannot run here
        self.sessions: dict[int, Any] = {}

    def ready(self) -> int:
        return os.getpid()

    def open(self, key: int) -> None:
        self.sessions[key] = self.engine.session()

    def run(self, key: int, source: str, interrupts_seen: int | None = None) -> str:
        session = self.sessions[key]
        return str(session.run(source, interrupts_seen=interrupts_seen).model_dump_json())

    def check(self, key: int, source: str) -> str:
        return str(self.sessions[key].check(source).model_dump_json())

    def interrupt(self, key: int) -> None:
        session = self.sessions.get(key)
        if session is not None:
            session.interrupt()

    def close(self, key: int) -> None:
        session = self.sessions.pop(key, None)
        if session is not None:
            session.close()

    def agent(self, task: str, model: str, max_turns: int, host: str | None) -> str:
        from engine.agent import CodeActAgent, OllamaModel

        answer = CodeActAgent(self.engine, OllamaModel(model, host=host),
                              max_turns=max_turns).run(task)
        return AgentOutcome(ok=answer.stop_reason in ("final_answer", "answered"),
                            value=answer.value, stop_reason=answer.stop_reason,
                            turns=answer.turns, error=answer.error).model_dump_json()


class _Actor:
    def __init__(self, handle: Any, answer_seconds: float | None = None) -> None:
        self.handle = handle
        self.sessions = 0
        self.lost = False
        self.answer_seconds = answer_seconds

    def call(self, method: str, *args: Any, timeout: float | None = None) -> Any:
        timeout = timeout if timeout is not None else self.answer_seconds
        ray = _ray()
        errors = importlib.import_module("ray.exceptions")
        if self.lost:
            raise WorkerLostError("the Ray actor that held this session is gone")
        try:
            return ray.get(getattr(self.handle, method).remote(*args), timeout=timeout)
        except errors.GetTimeoutError:
            if method == "ready":
                raise EngineError(f"a Ray actor did not start within {timeout:g} s; is there "
                                  f"a free CPU for it? free now: "
                                  f"{ray.available_resources().get('CPU', 0):g}") from None
            # An actor that holds a request this long is stuck: stopped, sessions lost.
            self.lost = True
            with contextlib.suppress(Exception):
                ray.kill(self.handle, no_restart=True)
            raise WorkerLostError(f"the Ray actor did not answer within {timeout:g} s and "
                                  "was stopped; its sessions are lost") from None
        except errors.RayActorError as exc:
            self.lost = True
            raise WorkerLostError(f"the Ray actor that held this session died; its sessions "
                                  f"are lost ({type(exc).__name__})") from None
        except errors.RayTaskError as exc:
            raise EngineError(f"{method} failed on its Ray actor: {exc.cause!r}") from None


class RaySession:
    """A session held by one actor of a ``RayPool``; ``run``/``check`` as on ``Session``."""

    def __init__(self, actor: _Actor, key: int, pool: RayPool) -> None:
        self._actor = actor
        self._key = key
        self._pool = pool
        self._interrupts = 0
        self.closed = False

    def run(self, source: str) -> RunResult:
        if self.closed:
            raise RuntimeError("this session is closed")
        # The actor's session counts only our interrupts: one sent after this call, even if
        # the actor serves it first, stops this run.
        return RunResult.model_validate_json(
            self._actor.call("run", self._key, source, self._interrupts))

    def check(self, source: str) -> CheckReport:
        if self.closed:
            raise RuntimeError("this session is closed")
        return CheckReport.model_validate_json(self._actor.call("check", self._key, source))

    def interrupt(self) -> None:
        """Stop the snippet this session is running (``R215``; the session is restored)."""
        if not self.closed:
            self._interrupts += 1
            with contextlib.suppress(WorkerLostError, EngineError):
                self._actor.call("interrupt", self._key)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._actor.call("close", self._key)
        except (WorkerLostError, EngineError):
            pass
        finally:
            self._pool._release(self._actor)

    def __enter__(self) -> RaySession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RayPool:
    """``EnginePool``'s interface over Ray actors (``workers`` of them; default: one per CPU
    of the cluster), each holding one CPU of the cluster. A dead actor's sessions raise
    ``WorkerLostError``; new sessions go to a new actor started in its place. Actors that
    cannot be placed within ``start_timeout`` (no free CPU) are an ``EngineError``."""

    def __init__(self, tools: str | None = None, policy: Policy | str = "default", *,
                 address: str = "local", workers: int | None = None,
                 isolation: Isolation = "seccomp", check_types: bool = True,
                 start_timeout: float = 120.0) -> None:
        ray = _ray()
        self.tools = tools
        self.policy = policy if isinstance(policy, Policy) else Policy.load(policy)
        self._args = (tools, self.policy.model_dump_json(), self.policy.source, isolation,
                      check_types)
        self._owns_ray = False
        if not ray.is_initialized():
            # The actors import the tools as this process would: same path, same directory.
            path = os.pathsep.join(p or os.getcwd() for p in sys.path)
            env = {"env_vars": {"PYTHONPATH": path}}
            try:
                if address == "local":
                    ray.init(include_dashboard=False, log_to_driver=False, runtime_env=env)
                else:
                    ray.init(address=address, log_to_driver=False, runtime_env=env)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise EngineError(f"cannot reach a Ray cluster at {address!r}: {exc}") \
                    from None
            self._owns_ray = True
        self._remote = ray.remote(max_concurrency=ACTOR_CONCURRENCY, num_cpus=1)(EngineActor)
        self.size = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._lock = threading.Lock()
        self._keys = itertools.count(1)
        self._closed = False
        self._start_timeout = start_timeout
        self._actors: list[_Actor] = []
        try:
            self._actors = [self._new_actor(ready=False) for _ in range(self.size)]
            for actor in self._actors:
                actor.call("ready", timeout=start_timeout)
        except BaseException:
            self.close()
            raise

    def _new_actor(self, *, ready: bool = True) -> _Actor:
        actor = _Actor(self._remote.remote(*self._args), default_answer_seconds(self.policy))
        if ready:
            actor.call("ready", timeout=self._start_timeout)
        return actor

    def _pick(self) -> _Actor:
        ray = _ray()
        with self._lock:
            if self._closed:
                raise RuntimeError("this pool is closed")
            for index, actor in enumerate(self._actors):
                if actor.lost:
                    ray.kill(actor.handle, no_restart=True)
                    self._actors[index] = self._new_actor()
            actor = min(self._actors, key=lambda a: a.sessions)
            actor.sessions += 1
            return actor

    def _release(self, actor: _Actor) -> None:
        with self._lock:
            actor.sessions -= 1

    @property
    def actors(self) -> list[Any]:
        """The actor handles (for operators and tests: ``ray.kill(pool.actors[0])``)."""
        return [actor.handle for actor in self._actors]

    def session(self) -> RaySession:
        actor = self._pick()
        key = next(self._keys)
        try:
            actor.call("open", key)
        except BaseException:
            self._release(actor)
            raise
        return RaySession(actor, key, self)

    def run(self, source: str) -> RunResult:
        with self.session() as session:
            return session.run(source)

    def agent(self, task: str, *, model: str, max_turns: int = 10,
              host: str | None = None) -> AgentOutcome:
        actor = self._pick()
        try:
            return AgentOutcome.model_validate_json(
                actor.call("agent", task, model, max_turns, host))
        finally:
            self._release(actor)

    def close(self) -> None:
        ray = _ray()
        with self._lock:
            self._closed = True
            actors, self._actors = self._actors, []
        for actor in actors:
            with contextlib.suppress(Exception):  # already gone
                ray.kill(actor.handle, no_restart=True)
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False

    def __enter__(self) -> RayPool:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


__all__ = ["ACTOR_CONCURRENCY", "EngineActor", "RayPool", "RaySession"]

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
import os
import sys
from typing import Any

from engine.errors import EngineError
from engine.pipeline import Isolation
from engine.policy.model import Policy
from engine.workers import (
    START_SECONDS,
    EngineHost,
    Pool,
    WorkerLink,
    WorkerLostError,
    default_answer_seconds,
)

#: Calls one actor serves at once (each mostly waits on a check worker or a sandboxed child).
ACTOR_CONCURRENCY = 16


def _ray() -> Any:
    """Ray, untyped here (its own annotations do not pass mypy --strict), or a clear error."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise EngineError("Ray is not installed: from a checkout of codeact-engine, "
                          "pip install -e '.[ray]'") from None


def connect(address: str = "local") -> bool:
    """Join the Ray cluster at ``address`` (``"local"`` starts one on this machine, ``"auto"``
    finds a running one); True when this call initialised Ray (the caller shuts it down),
    False when Ray was already initialised in this process (that instance is used as it is).
    Actors import modules as this process would: same ``sys.path``, same directory."""
    ray = _ray()
    if ray.is_initialized():
        return False
    path = os.pathsep.join(p or os.getcwd() for p in sys.path)
    env = {"env_vars": {"PYTHONPATH": path}}
    try:
        if address == "local":
            ray.init(include_dashboard=False, log_to_driver=False, runtime_env=env)
        else:
            ray.init(address=address, log_to_driver=False, runtime_env=env)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise EngineError(f"cannot reach a Ray cluster at {address!r}: {exc}") from None
    return True


class _Actor(WorkerLink):
    """The host's end of one Ray actor (an ``EngineHost``)."""

    def __init__(self, handle: Any, answer_seconds: float) -> None:
        super().__init__()
        self.handle = handle
        self.answer_seconds = answer_seconds

    def start(self, timeout: float = START_SECONDS) -> None:
        self._call("ready", timeout=timeout)

    def request(self, *message: Any) -> Any:
        return self._call(*message, timeout=self.answer_seconds)

    def notify(self, *message: Any) -> None:
        if self.lost:
            return
        method, *args = message
        # Its own concurrency group: not queued behind the runs it may stop.
        with contextlib.suppress(Exception):
            getattr(self.handle, method).options(concurrency_group="control").remote(*args)

    def _call(self, method: str, *args: Any, timeout: float) -> Any:
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
            self.close()
            raise WorkerLostError(f"the Ray actor did not answer within {timeout:g} s and "
                                  "was stopped; its sessions are lost") from None
        except errors.RayActorError as exc:
            self.lost = True
            raise WorkerLostError(f"the Ray actor that held this session died; its sessions "
                                  f"are lost ({type(exc).__name__})") from None
        except errors.RayTaskError as exc:
            raise EngineError(f"{method} failed on its Ray actor: {exc.cause!r}") from None

    def close(self) -> None:
        self.lost = True
        with contextlib.suppress(Exception):  # already gone
            _ray().kill(self.handle, no_restart=True)


class RayPool(Pool):
    """``EnginePool``'s interface over Ray actors (``workers`` of them; default: one per CPU
    of the cluster), each holding one CPU of the cluster. A dead actor's sessions raise
    ``WorkerLostError``; new sessions go to a new actor started in its place. Actors that
    cannot be placed within ``start_timeout`` (no free CPU) are an ``EngineError``."""

    def __init__(self, tools: str | None = None, policy: Policy | str = "default", *,
                 address: str = "local", workers: int | None = None,
                 isolation: Isolation = "seccomp", check_types: bool = True,
                 start_timeout: float = START_SECONDS) -> None:
        super().__init__(tools, policy)
        ray = _ray()
        self.start_timeout = start_timeout
        self._args = (tools, self.policy.model_dump_json(), self.policy.source, isolation,
                      check_types)
        self._owns_ray = connect(address)
        self._remote = ray.remote(max_concurrency=ACTOR_CONCURRENCY, num_cpus=1,
                                  concurrency_groups={"control": 2})(EngineHost)
        self._start_all(workers or max(1, int(ray.cluster_resources().get("CPU", 1))))

    def _new_link(self) -> _Actor:
        return _Actor(self._remote.remote(*self._args), default_answer_seconds(self.policy))

    def close(self) -> None:
        super().close()
        if self._owns_ray:
            _ray().shutdown()
            self._owns_ray = False

    def __enter__(self) -> RayPool:
        return self


__all__ = ["ACTOR_CONCURRENCY", "RayPool", "connect"]

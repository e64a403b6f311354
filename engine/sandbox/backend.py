"""The local backend: snippets run in seccomp- and rlimit-restricted children of a zygote on
this machine. Implements the seam of ``engine.execution``; what a process's death means
(signals, exit statuses) is decoded here, not in the session."""

from __future__ import annotations

import signal
from collections.abc import Callable

from engine.execution import Executed, Outcome, ToolHandler
from engine.policy.model import Limits
from engine.sandbox.broker import Execution, SandboxProcess
from engine.sandbox.zygote import Zygote

_KILLED_FOR = {"timeout": Outcome.TIMEOUT, "cpu": Outcome.CPU, "protocol": Outcome.PROTOCOL,
               "interrupted": Outcome.INTERRUPTED}
_SIGNALS: dict[int, Outcome] = {signal.SIGXCPU: Outcome.CPU, signal.SIGSYS: Outcome.VIOLATION}


class LocalRunner:
    """A session's sandboxed process."""

    def __init__(self, zygote: Zygote, limits: Limits, seed: int | None = None) -> None:
        self._process = SandboxProcess(zygote, limits, seed)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process.alive else None

    @property
    def alive(self) -> bool:
        return self._process.alive

    def execute(self, source: str, tools: ToolHandler, snippet_id: int, *,
                stopped: Callable[[], bool] | None = None) -> Executed:
        return _neutral(self._process.execute(source, tools, snippet_id, stopped=stopped))

    def interrupt(self) -> None:
        self._process.interrupt()

    def close(self) -> None:
        self._process.close()


class LocalBackend:
    """Runners from the zygote ``zygote()`` gives (started, or restarted, on demand)."""

    def __init__(self, zygote: Callable[[], Zygote]) -> None:
        self._zygote = zygote

    def runner(self, limits: Limits, *, seed: int | None = None) -> LocalRunner:
        return LocalRunner(self._zygote(), limits, seed)

    def close(self) -> None:
        pass  # the zygote belongs to the engine that made it


def _neutral(execution: Execution) -> Executed:
    reported = execution.outcome
    if reported is not None:
        return Executed(Outcome.OK if reported.ok else Outcome.EXCEPTION, reported,
                        execution.wall_ms, reported.cpu_ms)
    cpu = execution.killed_cpu_ms
    if execution.killed_for is not None:
        return Executed(_KILLED_FOR[execution.killed_for], None, execution.wall_ms, cpu,
                        execution.protocol_error or "")
    number = execution.exit_status.get("signal")
    if number is not None:
        name = signal.Signals(number).name if number in signal.Signals._value2member_map_ \
            else str(number)
        return Executed(_SIGNALS.get(number, Outcome.CRASHED), None, execution.wall_ms, cpu,
                        f"was killed by {name}")
    return Executed(Outcome.CRASHED, None, execution.wall_ms, cpu,
                    f"exited with status {execution.exit_status.get('exit', 'unknown')}")


__all__ = ["LocalBackend", "LocalRunner"]

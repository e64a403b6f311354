"""The execution seam: what a session needs from whatever runs its snippets.

An ``ExecutionBackend`` gives ``Runner``s; a runner holds one session's live state (a sandboxed
process, for the local backend) and executes checked snippets, handing each tool call to a
``ToolHandler`` (the broker) and returning an ``Executed``: a backend-neutral outcome. The
session above it keeps what does not depend on where code runs: checking, rollback and
replay, diagnostics. ``engine.sandbox.backend.LocalBackend`` (a zygote, seccomp and rlimits
on this machine) is today's only backend. httpx's transports are the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine import codes

if TYPE_CHECKING:
    from engine.policy.model import Limits

#: Bounds on what a runner reports about an error (an honest one keeps within them).
MESSAGE_CHARS = 2_000
TRACEBACK_CHARS = 16_000

#: The codes a snippet's process may report about its own snippet; the others are the
#: parent's to give (marked in the catalog, engine.codes).
REPORTABLE_CODES = codes.REPORTABLE


class ReportedError(BaseModel):
    """How a snippet failed, as the process that ran it reports it."""

    model_config = ConfigDict(extra="ignore")

    code: str
    type: str | None = Field(default=None, max_length=MESSAGE_CHARS)
    message: str = Field(max_length=MESSAGE_CHARS)
    line: int | None = Field(default=None, ge=1)
    column: int | None = Field(default=None, ge=1)
    end_line: int | None = Field(default=None, ge=1)
    end_column: int | None = Field(default=None, ge=1)
    traceback: str | None = Field(default=None, max_length=TRACEBACK_CHARS)

    @field_validator("code")
    @classmethod
    def _reportable(cls, code: str) -> str:
        if code not in REPORTABLE_CODES:
            raise ValueError(f"a snippet's process cannot report {code!r}")
        return code

    @property
    def catalogued(self) -> codes.CodeName:
        """``code``, which validation made one of the catalog's."""
        return codes.CATALOG[self.code].code


class Reported(BaseModel):
    """What the process that ran a snippet says about it, validated: it is not trusted to
    send a well-formed report, nor plausible numbers about its own use."""

    model_config = ConfigDict(extra="ignore")

    id: int
    ok: bool
    final: bool = False
    value: Any = None
    error: ReportedError | None = None
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False
    output_bytes: int = Field(default=0, ge=0, le=2**50)
    names: list[str] = Field(default_factory=list)
    cpu_ms: float = Field(default=0.0, ge=0, le=1e10)
    peak_memory_bytes: int = Field(default=0, ge=0, le=2**50)

    @model_validator(mode="after")
    def _consistent(self) -> Reported:
        if self.ok and self.error is not None:
            raise ValueError("an outcome both ok and failed")
        return self


class Outcome(StrEnum):
    """How a snippet's execution ended, whatever backend ran it."""

    OK = "ok"
    EXCEPTION = "exception"  # the snippet raised (its process lives on)
    TIMEOUT = "timeout"  # wall time: stopped by the runner
    CPU = "cpu"  # CPU time: stopped by the runner or the kernel
    VIOLATION = "violation"  # a forbidden system call: killed by the kernel filter
    PROTOCOL = "protocol"  # it broke the protocol: stopped by the runner
    INTERRUPTED = "interrupted"  # the host asked (Session.interrupt)
    CRASHED = "crashed"  # it died otherwise (a signal, an exit, memory)


@dataclass(frozen=True)
class Executed:
    """One snippet's execution, backend-neutral. ``reported`` is None when the process died
    with the snippet (its state is gone: the session restores it)."""

    outcome: Outcome
    reported: Reported | None
    wall_ms: float
    cpu_ms: float
    detail: str = ""  # what stopped it: a protocol error, a signal, an exit status

    @property
    def died(self) -> bool:
        return self.reported is None


class ToolHandler(Protocol):
    """Answers a snippet's tool calls (``engine.sandbox.broker.ToolBroker``)."""

    deadline: float | None

    def handle(self, payload: bytes) -> bytes: ...


class Runner(Protocol):
    """One session's live state, wherever it is kept."""

    @property
    def pid(self) -> int | None: ...

    @property
    def alive(self) -> bool: ...

    def execute(self, source: str, tools: ToolHandler, snippet_id: int, *,
                stopped: Callable[[], bool] | None = None) -> Executed:
        """Run ``source``. ``stopped`` is asked once, atomically with the moment from which
        ``interrupt()`` kills: if it says True the snippet never starts (``NotStarted``)."""
        ...

    def interrupt(self) -> None: ...

    def close(self) -> None: ...


class NotStarted(Exception):
    """The snippet was stopped before it started; the runner's state is untouched."""


class ExecutionBackend(Protocol):
    """Where snippets run: it starts runners, one per live session."""

    def runner(self, limits: Limits, *, seed: int | None = None) -> Runner:
        """A new runner; ``seed`` seeds its ``random`` module, so that a session replayed
        into a new runner with the same seed draws the same numbers."""
        ...

    def close(self) -> None: ...


__all__ = [
    "REPORTABLE_CODES",
    "Executed",
    "ExecutionBackend",
    "NotStarted",
    "Outcome",
    "Reported",
    "ReportedError",
    "Runner",
    "ToolHandler",
]

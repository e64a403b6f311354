"""The execution seam: a Session depends on an ExecutionBackend and its Runners, not on the
Engine or on where code runs; what a process's death means is decoded by the backend."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from engine import Engine, ToolRegistry, tool
from engine.execution import Executed, Outcome, ToolHandler
from engine.policy.model import Limits
from engine.sandbox.backend import LocalBackend, LocalRunner
from engine.sandbox.limits import unavailable_reason
from engine.session import Session

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason="seccomp unavailable")
CALLS: list[int] = []


@tool
def bump(n: int) -> int:
    """Count a call."""
    CALLS.append(n)
    return n + 1


class Dying:
    """A runner that loses its process (as a crashed machine would) on a marked snippet."""

    def __init__(self, inner: LocalRunner) -> None:
        self.inner = inner

    @property
    def pid(self) -> int | None:
        return self.inner.pid

    @property
    def alive(self) -> bool:
        return self.inner.alive

    def execute(self, source: str, tools: ToolHandler, snippet_id: int, *,
                stopped: Callable[[], bool] | None = None) -> Executed:
        if "# the machine goes away" in source:
            self.inner.close()
            return Executed(Outcome.CRASHED, None, 1.0, 0.0, "was lost with its machine")
        return self.inner.execute(source, tools, snippet_id, stopped=stopped)

    def interrupt(self) -> None:
        self.inner.interrupt()

    def close(self) -> None:
        self.inner.close()


class CountingBackend:
    def __init__(self, local: LocalBackend) -> None:
        self.local = local
        self.runners = 0

    def runner(self, limits: Limits, *, seed: int | None = None) -> Dying:
        self.runners += 1
        return Dying(self.local.runner(limits, seed=seed))

    def close(self) -> None:
        self.local.close()


@pytest.fixture
def engine() -> Iterator[Engine]:
    eng = Engine(ToolRegistry([bump]), "default")
    yield eng
    eng.close()


def test_a_session_runs_on_any_backend_and_restores_through_it(engine: Engine) -> None:
    backend = CountingBackend(LocalBackend(engine._zygote))
    session = Session(check=engine.check, registry=engine.registry,
                      limits=engine.policy.limits, backend=backend)
    CALLS.clear()
    try:
        assert session.run("x = bump(1)").ok
        lost = session.run("y = 2  # the machine goes away")
        assert [d.code for d in lost.diagnostics] == ["R208", "R212"]
        assert lost.diagnostics[0].message == "the sandbox process was lost with its machine"
        assert backend.runners == 2  # the restore asked the backend for a new runner
        after = session.run("final_answer(x)")
        assert after.value == 2 and CALLS == [1]  # replayed from the record, not re-called
    finally:
        session.close()


def test_the_session_module_does_not_import_the_engine() -> None:
    code = ("import sys, engine.session; "
            "print('engine.pipeline' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"

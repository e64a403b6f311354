"""The engine: checks a snippet through the static stages and hands execution to sessions.

check: parse -> policy -> types. A stage that finds an error stops the pipeline and reports
all it found; later stages are reported as skipped. ``session()`` gives a sandboxed session
whose ``run`` is this check followed by execution (engine/session.py).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from engine import codes
from engine.diagnostics import Diagnostic, Severity, Stage, line_of
from engine.errors import SandboxUnavailableError
from engine.parse import ParsedSnippet, parse
from engine.policy.check import check_policy, check_source_size
from engine.policy.model import Policy
from engine.policy.rules import PolicyContext
from engine.results import CheckReport, RunResult, StageReport, StageStatus
from engine.stubs import render_prompt_view, render_stubs
from engine.tools import Tool, ToolRegistry
from engine.typecheck.context import Binding, SessionContext, module_alias

if TYPE_CHECKING:
    from engine.sandbox.zygote import Zygote
    from engine.session import Session
    from engine.typecheck.checker import TypeChecker


def _too_deep(source: str) -> Diagnostic:
    entry = codes.get("P151")
    return Diagnostic(stage=Stage.POLICY, code=entry.code, rule=entry.rule,
                      message="the code nests too deeply to be analysed", line=1, column=1,
                      source_line=line_of(source, 1), hint=entry.hint)


Isolation = Literal["seccomp", "unsafe-no-seccomp"]


class Engine:
    """Checks model-written snippets against a policy and the tools, and runs them sandboxed.

    ``check_policy`` and ``check_types`` exist to test the layers one at a time; turning them
    off in production removes a layer of the defence. ``isolation="unsafe-no-seccomp"`` runs
    snippets without the kernel filter (rlimits still apply) where seccomp is unavailable;
    the name says what it is.
    """

    def __init__(
        self,
        tools: ToolRegistry | Iterable[Tool | Callable[..., Any]] = (),
        policy: Policy | str | Path = "default",
        *,
        check_policy: bool = True,
        check_types: bool = True,
        isolation: Isolation = "seccomp",
    ) -> None:
        if isolation not in ("seccomp", "unsafe-no-seccomp"):
            raise ValueError(f"unknown isolation {isolation!r}")
        self.registry = tools if isinstance(tools, ToolRegistry) else ToolRegistry(tools)
        self.policy = policy if isinstance(policy, Policy) else Policy.load(policy)
        self.check_policy = check_policy
        self.check_types = check_types
        self.isolation = isolation
        self.stubs = render_stubs(self.registry)
        self._checker: TypeChecker | None = None
        self._zygote_handle: Zygote | None = None
        self._zygote_lock = threading.Lock()
        self._sessions: weakref.WeakSet[Session] = weakref.WeakSet()
        # A zygote left running by a forgotten close() is stopped when the engine is collected.
        self._finalizer = weakref.finalize(self, Engine._stop_zygote, self.__dict__)

    def _zygote(self) -> Zygote:
        """The zygote, started on first use and restarted if it died."""
        # The sandbox is imported only when something runs: checking works everywhere.
        from engine.sandbox.limits import unavailable_reason
        from engine.sandbox.spec import build_spec
        from engine.sandbox.zygote import Zygote

        if self.isolation == "seccomp":
            reason = unavailable_reason()
            if reason is not None:
                raise SandboxUnavailableError(
                    f"snippets cannot run sandboxed here: {reason}; to run without kernel "
                    "isolation anyway, create the Engine with isolation='unsafe-no-seccomp'"
                )
        with self._zygote_lock:
            if self._zygote_handle is not None and not self._zygote_handle.alive():
                self._zygote_handle.close()
                self._zygote_handle = None
            if self._zygote_handle is None:
                spec = build_spec(self.registry, self.policy,
                                  seccomp=self.isolation == "seccomp")
                self._zygote_handle = Zygote(spec.model_dump_json().encode())
            zygote = self._zygote_handle
        try:
            zygote.ready()
        except SandboxUnavailableError as exc:
            hint = ("" if self.isolation != "seccomp" else
                    "; to run without kernel isolation anyway, create the Engine with "
                    "isolation='unsafe-no-seccomp'")
            raise SandboxUnavailableError(f"{exc}{hint}") from None
        return zygote

    @staticmethod
    def _stop_zygote(state: dict[str, Any]) -> None:
        zygote = state.get("_zygote_handle")
        if zygote is not None:
            zygote.close()

    def session(self) -> Session:
        """A new session: snippets run in it share their globals."""
        from engine.session import Session

        session = Session(self)
        self._zygote()  # fail now, clearly, if the sandbox cannot run here
        self._sessions.add(session)
        return session

    def run(self, source: str) -> RunResult:
        """Check and run one snippet in a fresh session."""
        with self.session() as session:
            return session.run(source)

    @property
    def prompt_view(self) -> str:
        """The tools as the model should see them: stubs without plumbing."""
        return render_prompt_view(self.registry)

    def _type_checker(self) -> TypeChecker:
        if self._checker is None:
            # mypy is imported only when first needed: it is large, and processes forked
            # before this point stay small.
            from engine.typecheck.checker import TypeChecker

            self._checker = TypeChecker(self.stubs)
        return self._checker

    def warm_up(self) -> None:
        """Pay the type checker's start-up (about a second) now instead of at the first check."""
        if self.check_types:
            self._type_checker().warm()

    def check(self, source: str, *, context: SessionContext | None = None) -> CheckReport:
        """Run parse, policy and types on ``source``; ``context`` holds earlier snippets' names."""
        context = context or SessionContext()
        stages: list[StageReport] = []

        def finish(stage: Stage, started: float, found: Iterable[Diagnostic]) -> bool:
            found = list(found)
            failed = any(d.severity is Severity.ERROR for d in found)
            status = StageStatus.FAILED if failed else StageStatus.PASSED
            stages.append(StageReport(stage=stage, status=status,
                                      duration_ms=(time.perf_counter() - started) * 1000))
            return not failed

        def stop(found: Iterable[Diagnostic]) -> CheckReport:
            done = {s.stage for s in stages}
            for stage in (Stage.PARSE, Stage.POLICY, Stage.TYPES):
                if stage not in done:
                    stages.append(StageReport(stage=stage, status=StageStatus.SKIPPED))
            return CheckReport(ok=False, diagnostics=tuple(found), stages=tuple(stages))

        started = time.perf_counter()
        too_large = check_source_size(source, self.policy) if self.check_policy else None
        if too_large is not None:
            stages.append(StageReport(stage=Stage.PARSE, status=StageStatus.SKIPPED))
            finish(Stage.POLICY, started, [too_large])
            return stop([too_large])
        parsed = parse(source)
        if not isinstance(parsed, ParsedSnippet):
            finish(Stage.PARSE, started, [parsed])
            return stop([parsed])
        finish(Stage.PARSE, started, [])

        if self.check_policy:
            started = time.perf_counter()
            ctx = PolicyContext(self.policy, self.registry, context.names, context.modules)
            try:
                found = check_policy(parsed, ctx)
            except RecursionError:
                found = [_too_deep(source)]
            if not finish(Stage.POLICY, started, found):
                return stop(found)
        else:
            stages.append(StageReport(stage=Stage.POLICY, status=StageStatus.SKIPPED))
            found = []

        bindings: tuple[Binding, ...] = ()
        if self.check_types:
            started = time.perf_counter()
            report = self._type_checker().check(parsed, context)
            found = [*found, *report.diagnostics]
            bindings = report.bindings
            if not finish(Stage.TYPES, started, report.diagnostics):
                return stop(found)
        else:
            stages.append(StageReport(stage=Stage.TYPES, status=StageStatus.SKIPPED))
            # Without the checker the names are still known, only their types are not.
            bindings = tuple(Binding(n, "value", f"{module_alias('typing')}.Any", ("typing",))
                             for n in parsed.module_bindings)
        return CheckReport(ok=True, diagnostics=tuple(found), stages=tuple(stages),
                           bindings=bindings)

    def close(self) -> None:
        for session in list(self._sessions):
            session.close()
        with self._zygote_lock:
            if self._zygote_handle is not None:
                self._zygote_handle.close()
                self._zygote_handle = None
        if self._checker is not None:
            self._checker.close()
            self._checker = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

"""The engine: checks a snippet through the static stages and hands execution to sessions.

check: parse -> policy -> types (engine/checks.py), run in check workers under a budget
(engine/checkpool.py). ``session()`` gives a sandboxed session whose ``run`` is this check
followed by execution (engine/session.py).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from engine.catalog import ToolCatalog
from engine.checkpool import CheckPool, acquire_pool, release_pool
from engine.checkspec import CheckSpec
from engine.diagnostics import Stage
from engine.errors import SandboxUnavailableError
from engine.policy.bounds import check_source_size, lone_surrogate
from engine.policy.model import Policy
from engine.policy.permissions import ToolPermissions
from engine.results import CheckReport, RunResult, StageReport, StageStatus, with_skipped
from engine.stubs import render_prompt_view, render_stubs
from engine.tools import Tool, ToolRegistry
from engine.typecheck.context import SessionContext

if TYPE_CHECKING:
    from engine.sandbox.zygote import Zygote
    from engine.session import Session


log = logging.getLogger(__name__)

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
        check_workers: int = 2,
    ) -> None:
        if isolation not in ("seccomp", "unsafe-no-seccomp"):
            raise ValueError(f"unknown isolation {isolation!r}")
        if check_workers < 1:
            raise ValueError("check_workers must be at least 1")
        toolset = tools if isinstance(tools, ToolRegistry) else ToolRegistry(tools)
        self.policy = policy if isinstance(policy, Policy) else Policy.load(policy)
        # The tools the policy does not permit are not there at all: not in the stubs, the
        # prompt or the sandbox; naming one is P160, and the broker refuses it too (R216).
        self.registry = toolset.only(self.policy.tools.permits)
        self.denied_tools = tuple(n for n in toolset.names if n not in self.registry)
        self.policy_warnings = tuple(self.policy.tool_name_issues(
            {t.name: [p.name for p in t.params] for t in toolset}))
        for warning in self.policy_warnings:
            log.warning("%s", warning)
        self.check_policy = check_policy
        self.check_types = check_types
        self.isolation = isolation
        self.stubs = render_stubs(self.registry)
        self.check_workers = check_workers
        self._pool: CheckPool | None = None
        self._pool_lock = threading.Lock()
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
        from engine.sandbox.zygote import UnimportableModuleError, Zygote

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
                                  seccomp=self.isolation == "seccomp",
                                  guard_writes=self.check_policy)
                self._zygote_handle = Zygote(spec.model_dump_json().encode())
            zygote = self._zygote_handle
        try:
            zygote.ready()
        except UnimportableModuleError as exc:
            install = ("pip install 'codeact-engine[data]'"
                       if exc.module.split(".")[0] in ("numpy", "pandas") else "install it")
            raise SandboxUnavailableError(
                f"the policy {self.policy.name!r} ({self.policy.source}) allows the module "
                f"{exc.module!r} in imports.allow, but {exc}; {install}, or remove it from "
                "imports.allow") from None
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
        pool = state.get("_pool")
        if pool is not None:
            release_pool(pool)

    def session(self) -> Session:
        """A new session: snippets run in it share their globals."""
        from engine.sandbox.backend import LocalBackend
        from engine.session import Session

        self._zygote()  # fail now, clearly, if the sandbox cannot run here
        session = Session(check=self.check, registry=self.registry,
                          limits=self.policy.limits, backend=LocalBackend(self._zygote),
                          permissions=ToolPermissions.of(self.policy),
                          policy_digest=self.policy.digest)
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

    def _checks(self) -> CheckPool:
        with self._pool_lock:
            if self._pool is None:
                spec = CheckSpec(policy=self.policy, tools=ToolCatalog.of(self.registry),
                                 denied_tools=self.denied_tools,
                                 stubs=self.stubs, check_policy=self.check_policy,
                                 check_types=self.check_types)
                self._pool = acquire_pool(spec, self.check_workers)
            return self._pool

    def warm_up(self, *, all_workers: bool = False) -> None:
        """Start a check worker now (about a second) instead of at the first check; with
        ``all_workers``, every worker the engine may use (a server's first concurrent checks
        then never wait for one to start)."""
        self._checks().warm(self.check_workers if all_workers else 1)

    def check(self, source: str, *, context: SessionContext | None = None) -> CheckReport:
        """Run parse, policy and types on ``source``; ``context`` holds earlier snippets' names.

        The stages run in a check worker under the policy's ``limits.check_seconds``: a
        snippet too costly to analyse is refused (P153, T197) instead of holding this process.
        """
        context = context or SessionContext()
        digest = self.policy.digest
        too_large = check_source_size(source, self.policy) if self.check_policy else None
        if too_large is not None:  # not even worth sending to a worker
            return CheckReport(ok=False, diagnostics=(too_large,), stages=tuple(with_skipped([
                StageReport(stage=Stage.PARSE, status=StageStatus.SKIPPED),
                StageReport(stage=Stage.POLICY, status=StageStatus.FAILED)])),
                policy_digest=digest)
        unreadable = lone_surrogate(source)
        if unreadable is not None:  # not text: no worker could be sent it
            return CheckReport(ok=False, diagnostics=(unreadable,), stages=tuple(with_skipped([
                StageReport(stage=Stage.PARSE, status=StageStatus.FAILED)])),
                policy_digest=digest)
        report = self._checks().check(source, context)
        return report.model_copy(update={"policy_digest": digest})

    def close(self) -> None:
        for session in list(self._sessions):
            session.close()
        with self._zygote_lock:
            if self._zygote_handle is not None:
                self._zygote_handle.close()
                self._zygote_handle = None
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            release_pool(pool)

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

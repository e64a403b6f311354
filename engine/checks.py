"""The static stages in order: parse -> policy -> types, in the process that calls them.

A stage that finds an error stops the pipeline and reports all it found; later stages are
reported as skipped. This runs without a budget, so the engine never calls it in its own
process: it runs in check workers (``engine.checkpool``) that the engine can kill when a
snippet is too costly to analyse. Cheap bounds (bytes, syntax nodes, depth) are applied
before the costly analysis (LibCST's metadata, mypy's inference).
"""

from __future__ import annotations

import symtable
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from engine import codes
from engine.checkspec import CheckSpec, Progress
from engine.diagnostics import MAX_PER_STAGE, Diagnostic, Severity, Stage
from engine.policy.bounds import check_source_size, check_tree_size
from engine.policy.context import PolicyContext
from engine.policy.screen import clears
from engine.results import CheckReport, StageReport, StageStatus, with_skipped
from engine.snippets import ScreenedSnippet, Snippet, parse_python
from engine.typecheck.context import Binding, SessionContext, module_alias

if TYPE_CHECKING:
    from engine.parsing import ParsedSnippet
    from engine.typecheck.checker import TypeChecker


def _too_deep(source: str) -> Diagnostic:
    return codes.diagnostic("P151", "the code nests too deeply to be analysed", source=source)


class StaticChecker:
    """parse -> policy -> types for one policy and toolset, with a warm type checker."""

    def __init__(self, spec: CheckSpec) -> None:
        self.spec = spec
        self._types: TypeChecker | None = None

    def _type_checker(self) -> TypeChecker:
        if self._types is None:
            # mypy is imported only when first needed: it is large.
            from engine.typecheck.checker import TypeChecker

            # Third-party stubs (pandas-stubs, numpy) take seconds to load: at start, not at
            # the first snippet that imports them. Standard modules load in milliseconds.
            self._types = TypeChecker(self.spec.stubs,
                                      sorted(self.spec.policy.third_party_modules))
        return self._types

    def warm(self) -> None:
        """Pay the type checker's start-up (about a second) now instead of at the first check."""
        if self.spec.check_types:
            self._type_checker().warm()

    def check(self, source: str, context: SessionContext | None = None,
              progress: Progress | None = None) -> CheckReport:
        """Run the stages on ``source``; ``context`` holds earlier snippets' names."""
        context = context or SessionContext()
        spec = self.spec
        policy = spec.policy
        stages: list[StageReport] = []
        announce = progress or (lambda stage: None)

        def finish(stage: Stage, started: float, found: Iterable[Diagnostic]) -> bool:
            found = list(found)
            failed = any(d.severity is Severity.ERROR for d in found)
            status = StageStatus.FAILED if failed else StageStatus.PASSED
            stages.append(StageReport(stage=stage, status=status,
                                      duration_ms=(time.perf_counter() - started) * 1000))
            return not failed

        def stop(found: Iterable[Diagnostic]) -> CheckReport:
            return CheckReport(ok=False, diagnostics=tuple(found),
                               stages=tuple(with_skipped(stages)))

        announce(Stage.PARSE)
        started = time.perf_counter()
        too_large = check_source_size(source, policy) if spec.check_policy else None
        if too_large is not None:
            stages.append(StageReport(stage=Stage.PARSE, status=StageStatus.SKIPPED))
            finish(Stage.POLICY, started, [too_large])
            return stop([too_large])
        tree = parse_python(source)
        if not isinstance(tree, Diagnostic) and spec.check_policy:
            too_big = check_tree_size(tree, source, policy)
            if too_big:
                finish(Stage.PARSE, started, [])
                finish(Stage.POLICY, started, too_big)
                return stop(too_big)
        if not isinstance(tree, Diagnostic) and not (spec.check_policy or spec.check_types):
            # Nothing reads LibCST's tree: the names are all that is needed, from CPython.
            finish(Stage.PARSE, started, [])
            stages += [StageReport(stage=Stage.POLICY, status=StageStatus.SKIPPED),
                       StageReport(stage=Stage.TYPES, status=StageStatus.SKIPPED)]
            return CheckReport(ok=True, stages=tuple(stages),
                               bindings=_untyped(_module_names(source)))
        if isinstance(tree, Diagnostic):
            finish(Stage.PARSE, started, [tree])
            return stop([tree])
        ctx = self._policy_context(context) if spec.check_policy else None
        screen_started = time.perf_counter()
        snippet: Snippet | None = (
            ScreenedSnippet.of(source, tree) if ctx is not None and clears(tree, source, ctx)
            else None)
        # The screen's time belongs to the policy stage, whatever it decides.
        screen_seconds = time.perf_counter() - screen_started
        started += screen_seconds
        parsed: ParsedSnippet | None = None
        if snippet is None:
            # LibCST (a tenth of a second to import) only for a snippet the screen did not
            # clear: a worker that meets none never loads it.
            from engine.parsing import parse_cst

            cst_parsed = parse_cst(source)
            if isinstance(cst_parsed, Diagnostic):
                finish(Stage.PARSE, started, [cst_parsed])
                return stop([cst_parsed])
            snippet = parsed = cst_parsed
        finish(Stage.PARSE, started, [])

        found: list[Diagnostic] = []
        if ctx is not None:
            announce(Stage.POLICY)
            started = time.perf_counter() - screen_seconds
            if parsed is not None:  # not cleared by the screen: the full check
                from engine.policy.check import check_policy  # LibCST's rules: as above

                try:
                    found = _capped(check_policy(parsed, ctx), "P190", source)
                except RecursionError:
                    found = [_too_deep(source)]
            if not finish(Stage.POLICY, started, found):
                return stop(found)
        else:
            stages.append(StageReport(stage=Stage.POLICY, status=StageStatus.SKIPPED))

        bindings: tuple[Binding, ...]
        if spec.check_types:
            announce(Stage.TYPES)
            started = time.perf_counter()
            report = self._type_checker().check(snippet, context)
            typed = _capped(list(report.diagnostics), "T190", source)
            found = [*found, *typed]
            bindings = report.bindings
            if not finish(Stage.TYPES, started, typed):
                return stop(found)
        else:
            stages.append(StageReport(stage=Stage.TYPES, status=StageStatus.SKIPPED))
            bindings = _untyped(snippet.module_bindings)
        return CheckReport(ok=True, diagnostics=tuple(found), stages=tuple(stages),
                           bindings=bindings)

    def _policy_context(self, context: SessionContext) -> PolicyContext:
        return PolicyContext(
            self.spec.policy, self.spec.tools, context.names, context.modules,
            frozenset(b.name for b in context.bindings if b.kind == "class"),
            {b.name: b.text for b in context.bindings if b.kind == "imported"},
            frozenset(self.spec.denied_tools))

    def close(self) -> None:
        if self._types is not None:
            self._types.close()
            self._types = None


def _capped(found: list[Diagnostic], code: codes.CodeName, source: str) -> list[Diagnostic]:
    """At most MAX_PER_STAGE findings, and a note saying how many more there are."""
    if len(found) <= MAX_PER_STAGE:
        return found
    more = len(found) - MAX_PER_STAGE
    return [*found[:MAX_PER_STAGE], codes.diagnostic(
        code, f"{more} more problems of this kind are not shown; fix these first",
        source=source, severity=Severity.NOTE)]


def _untyped(names: Iterable[str]) -> tuple[Binding, ...]:
    """Without the type checker the names are still known, only their types are not."""
    return tuple(Binding(n, "value", f"{module_alias('typing')}.Any", ("typing",))
                 for n in names)


def _module_names(source: str) -> list[str]:
    """Names a snippet binds at module level, by CPython's own symbol table."""
    table = symtable.symtable(source, "<snippet>", "exec")
    return sorted(s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported())


__all__ = ["CheckSpec", "Progress", "StaticChecker", "with_skipped"]

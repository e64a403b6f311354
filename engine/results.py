"""What the pipeline returns: reports made of diagnostics and per-stage verdicts."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from engine.diagnostics import Diagnostic, Severity, Stage
from engine.typecheck.context import Binding


class StageStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


class StageReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: Stage
    status: StageStatus
    duration_ms: float = 0.0


class CheckReport(BaseModel):
    """The verdict of the static stages on one snippet."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    diagnostics: tuple[Diagnostic, ...] = ()
    stages: tuple[StageReport, ...] = ()
    bindings: tuple[Binding, ...] = Field(default=(), exclude=True, repr=False)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)

    def stage(self, stage: Stage) -> StageReport | None:
        return next((s for s in self.stages if s.stage is stage), None)

    @property
    def failed_stage(self) -> Stage | None:
        return next((s.stage for s in self.stages if s.status is StageStatus.FAILED), None)

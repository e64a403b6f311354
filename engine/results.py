"""What the pipeline returns: reports made of diagnostics and per-stage verdicts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from engine.diagnostics import Diagnostic, Severity, Stage
from engine.sandbox.bytes_codec import tag_bytes, untag_bytes
from engine.typecheck.context import Binding


def _with_bytes(value: Any) -> Any:
    return untag_bytes(value, strict=False)  # a tag that is not base64 stays a dict


#: A snippet's answer: Python data, where bytes are ``bytes``; as JSON each bytes value is
#: written ``{"$bytes": "<base64>"}`` (see engine.sandbox.bytes_codec) and read back as bytes.
AnswerValue = Annotated[Any, BeforeValidator(_with_bytes),
                        PlainSerializer(tag_bytes, when_used="json")]


def value_json(value: Any, *, indent: int | None = None, ensure_ascii: bool = True) -> str:
    """An answer as JSON text for people and models: bytes tagged, anything else that JSON
    cannot hold shown as its repr (never an error)."""
    return json.dumps(tag_bytes(value), indent=indent, ensure_ascii=ensure_ascii, default=repr)


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
    policy_digest: str = Field(default="", description="`Policy.digest` of the policy that "
                               "judged the snippet.")
    bindings: tuple[Binding, ...] = Field(default=(), exclude=True, repr=False)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)

    def stage(self, stage: Stage) -> StageReport | None:
        return next((s for s in self.stages if s.stage is stage), None)

    @property
    def failed_stage(self) -> Stage | None:
        return next((s.stage for s in self.stages if s.status is StageStatus.FAILED), None)


#: Serialisation context key: include tool calls' arguments and replies.
TOOL_PAYLOADS = "tool_payloads"


class ToolCallStatus(StrEnum):
    OK = "ok"
    TOOL_ERROR = "tool_error"  # the tool raised
    BAD_ARGUMENTS = "bad_arguments"  # the arguments did not fit the signature
    LIMIT = "limit"  # a limit stopped the snippet at this call
    DIVERGED = "diverged"  # a replay: the snippet asked for another call than recorded


class ToolCall(BaseModel):
    """One brokered tool call of a snippet."""

    model_config = ConfigDict(frozen=True)

    tool: str
    ok: bool
    duration_ms: float
    error: str | None = None
    status: ToolCallStatus = ToolCallStatus.OK
    arguments: str | None = Field(
        default=None, description="The arguments as canonical JSON ``[args, kwargs]``; None "
        "when the session's record budget was spent.")
    reply: str | None = Field(
        default=None, description="What the snippet got back, as JSON text: the result, or "
        "the error it raised; None when not recorded.")

    @model_serializer(mode="wrap")
    def _payloads_on_request(self, handler: SerializerFunctionWrapHandler,
                             info: SerializationInfo) -> Any:
        # Payloads can be megabytes (a tool that returns 10,000 records): JSON output leaves
        # them out unless asked for, as transcripts do (context={TOOL_PAYLOADS: True}).
        data = handler(self)
        if isinstance(data, dict) and not (info.context or {}).get(TOOL_PAYLOADS):
            data.pop("arguments", None)
            data.pop("reply", None)
        return data


class Usage(BaseModel):
    """Resources a snippet used. ``peak_memory_bytes`` is the session process's peak so far."""

    model_config = ConfigDict(frozen=True)

    wall_ms: float
    cpu_ms: float = 0.0
    peak_memory_bytes: int = 0
    tool_calls: int = 0
    output_bytes: int = 0


class RunResult(BaseModel):
    """What running one snippet produced: output, value, diagnostics, tool calls, usage."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    executed: bool = Field(description="False when a static stage refused the snippet.")
    stdout: str = ""
    stderr: str = ""
    output_truncated: bool = False
    value: AnswerValue = Field(default=None,
                               description="The final answer, or a trailing expression.")
    final: bool = Field(default=False, description="True when the snippet called final_answer.")
    diagnostics: tuple[Diagnostic, ...] = ()
    check: CheckReport | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage | None = None
    traceback: str | None = Field(default=None, description="Snippet-only traceback text.")
    names: tuple[str, ...] = Field(default=(), description="Names the snippet bound or rebound.")
    restarted: bool = Field(default=False, description="The session process was replaced.")
    lost_names: tuple[str, ...] = Field(default=(), description="Names a restart could not keep.")
    policy_digest: str = Field(default="", description="`Policy.digest` of the policy that "
                               "judged and ran the snippet.")

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)


def with_skipped(stages: Iterable[StageReport]) -> list[StageReport]:
    """``stages`` followed by a skipped report for each static stage that did not run."""
    done = list(stages)
    ran = {s.stage for s in done}
    return done + [StageReport(stage=stage, status=StageStatus.SKIPPED)
                   for stage in (Stage.PARSE, Stage.POLICY, Stage.TYPES) if stage not in ran]

"""Transcripts: one JSON line per event, enough to replay and audit an agent run.

A file holds a ``run`` header (task, mode, model, tools, policy, feedback), one ``turn`` record
per model turn (model output, extracted code, each stage's verdict and diagnostics, tool calls,
output, the observation sent back, timing, tokens), and an ``answer`` record. Each tool call
keeps its arguments and the reply the snippet got (JSON text), so that a replay can give the
snippet the recorded results instead of calling the tools again: a transcript holds whatever
data the tools returned. Writing appends: a file may hold several runs, each from its header.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, TypeAdapter

from engine.agent.example import ExampleTurn
from engine.diagnostics import Diagnostic
from engine.results import TOOL_PAYLOADS, AnswerValue, StageReport, ToolCall


class RunHeader(BaseModel):
    kind: Literal["run"] = "run"
    task: str
    mode: Literal["codeact", "json"]
    model: str
    backend: str = ""
    host: str | None = None
    tools: str = ""
    policy: str = ""
    policy_digest: str = ""
    feedback: str = "structured"
    structured: bool = False
    # The worked example shown before the task, if any. Early transcripts said only whether
    # there was one (a bool): read as "not recorded".
    example: Annotated[ExampleTurn | None, BeforeValidator(
        lambda v: None if isinstance(v, bool) else v)] = None
    blocks: str = "first"
    keep_observations: int | None = None
    engine_version: str = ""
    started: str = ""


class TurnRecord(BaseModel):
    kind: Literal["turn"] = "turn"
    turn: int
    model_output: str = ""
    code: str | None = None
    requested_calls: list[dict[str, Any]] = Field(
        default_factory=list, description="JSON mode: the tool calls the model asked for.")
    extraction: list[Diagnostic] = Field(default_factory=list)
    stages: list[StageReport] = Field(default_factory=list)
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    executed: bool = False
    ok: bool | None = None
    stdout: str = ""
    value: AnswerValue = None
    final: bool = False
    observation: str | None = None
    model_ms: float = 0.0
    run_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_load_ms: float = 0.0
    model_eval_ms: float = 0.0
    error: str | None = None


class AnswerRecord(BaseModel):
    kind: Literal["answer"] = "answer"
    value: AnswerValue = None
    stop_reason: str
    turns: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_ms: float = 0.0
    error: str | None = None


Record = RunHeader | TurnRecord | AnswerRecord
_RECORD: TypeAdapter[Record] = TypeAdapter(Record)


class TranscriptWriter:
    """Appends records to a JSON-lines file, flushing each one (a crash loses nothing)."""

    def __init__(self, target: str | Path | IO[str]) -> None:
        self._owned = isinstance(target, (str, Path))
        if isinstance(target, (str, Path)):
            self._file: IO[str] = open(target, "a", encoding="utf-8")  # noqa: SIM115
        else:
            self._file = target

    def write(self, record: Record) -> None:
        self._file.write(record.model_dump_json(context={TOOL_PAYLOADS: True}) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._owned:
            self._file.close()


def read_transcript(path: str | Path) -> list[Record]:
    records: list[Record] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                records.append(_RECORD.validate_python(json.loads(line)))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a transcript record: {exc}") from None
    return records

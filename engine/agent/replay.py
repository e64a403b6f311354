"""Re-run a transcript's snippets (or JSON tool calls) through the current engine.

Useful to audit a run and to see what a policy or engine change does to recorded model output:
each turn's verdict now is compared with the verdict recorded.

By default no tool runs: each snippet gets the tool results its turn recorded, so replaying a
run that sent an e-mail does not send it again. A snippet that now asks for a different call
is stopped there (``R214``, "diverged"). ``live=True`` calls the tools for real.

A transcript file may hold several runs (``codeact agent`` appends); each is replayed in a
session of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.agent.transcript import Record, RunHeader, TurnRecord
from engine.diagnostics import Severity
from engine.errors import ToolArgumentError

if TYPE_CHECKING:
    from engine.pipeline import Engine
    from engine.results import RunResult

#: What ``now`` says for a turn that could not be replayed from its record.
NOT_RECORDED = "not replayed"


@dataclass(frozen=True)
class ReplayRow:
    turn: int
    recorded: str
    now: str
    run: int = 1
    note: str = ""

    @property
    def same(self) -> bool:
        return self.recorded == self.now


@dataclass(frozen=True)
class TranscriptRun:
    """One run of a transcript file: its header and the records that follow it."""

    number: int
    header: RunHeader | None
    records: tuple[Record, ...]


def split_runs(records: Sequence[Record]) -> list[TranscriptRun]:
    """The runs of a transcript, in order; records before any header form a run of their own."""
    runs: list[TranscriptRun] = []
    header: RunHeader | None = None
    current: list[Record] = []
    for record in records:
        if isinstance(record, RunHeader):
            if header is not None or current:
                runs.append(TranscriptRun(len(runs) + 1, header, tuple(current)))
            header, current = record, []
        current.append(record)
    if header is not None or current:
        runs.append(TranscriptRun(len(runs) + 1, header, tuple(current)))
    return runs


def _verdict(ok: bool | None, codes: Sequence[str]) -> str:
    if ok is None:
        return "no code"
    return "ok" if ok else "failed " + ",".join(codes)


def _verdict_now(result: RunResult) -> tuple[str, str]:
    diverged = next((d for d in result.diagnostics if d.code == "R214"), None)
    if diverged is not None:
        return "diverged", diverged.message
    return _verdict(result.ok, [d.code for d in result.diagnostics
                                if d.severity is Severity.ERROR]), ""


def replay_transcript(engine: Engine, records: Sequence[Record], *,
                      live: bool = False) -> list[ReplayRow]:
    """Replay every run of ``records`` through ``engine``; one row per turn that had code."""
    rows: list[ReplayRow] = []
    for run in split_runs(records):
        rows.extend(replay_run(engine, run, live=live))
    return rows


def replay_run(engine: Engine, run: TranscriptRun, *, live: bool = False) -> list[ReplayRow]:
    turns = [r for r in run.records if isinstance(r, TurnRecord)]
    rows: list[ReplayRow] = []
    if run.header is not None and run.header.mode == "json":
        for turn in turns:  # only the arguments are checked: no tool runs in either mode
            for call in turn.requested_calls[:1]:
                recorded = _verdict(turn.ok, [] if turn.ok else ["tool"])
                try:
                    engine.registry[call["name"]].validate_arguments([], call["arguments"])
                    now = _verdict(True, [])
                except (KeyError, ToolArgumentError):
                    now = _verdict(False, ["tool"])
                rows.append(ReplayRow(turn.turn, recorded, now, run.number))
        return rows
    with engine.session() as session:
        for turn in turns:
            if turn.code is None:
                continue
            recorded = _verdict(turn.ok, [d.code for d in turn.diagnostics
                                          if d.severity is Severity.ERROR])
            calls = None if live else turn.tool_calls
            if calls is not None and any(c.arguments is None or c.reply is None
                                         for c in calls):
                rows.append(ReplayRow(turn.turn, recorded, NOT_RECORDED, run.number,
                                      "the transcript does not hold this turn's tool results "
                                      "(replay with --live to call the tools)"))
                continue
            now, note = _verdict_now(session.run(turn.code, recorded=calls))
            rows.append(ReplayRow(turn.turn, recorded, now, run.number, note))
    return rows

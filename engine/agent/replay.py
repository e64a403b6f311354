"""Re-run a transcript's snippets (or JSON tool calls) through the current engine.

Useful to audit a run and to see what a policy or engine change does to recorded model output:
each turn's verdict now is compared with the verdict recorded.
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


@dataclass(frozen=True)
class ReplayRow:
    turn: int
    recorded: str
    now: str

    @property
    def same(self) -> bool:
        return self.recorded == self.now


def _verdict(ok: bool | None, codes: Sequence[str]) -> str:
    if ok is None:
        return "no code"
    return "ok" if ok else "failed " + ",".join(codes)


def replay_transcript(engine: Engine, records: Sequence[Record]) -> list[ReplayRow]:
    header = next((r for r in records if isinstance(r, RunHeader)), None)
    turns = [r for r in records if isinstance(r, TurnRecord)]
    rows: list[ReplayRow] = []
    if header is not None and header.mode == "json":
        for turn in turns:
            for call in turn.requested_calls[:1]:
                recorded = _verdict(turn.ok, [] if turn.ok else ["tool"])
                try:
                    engine.registry[call["name"]].validate_arguments([], call["arguments"])
                    now = _verdict(True, [])
                except (KeyError, ToolArgumentError):
                    now = _verdict(False, ["tool"])
                rows.append(ReplayRow(turn.turn, recorded, now))
        return rows
    with engine.session() as session:
        for turn in turns:
            if turn.code is None:
                continue
            recorded = _verdict(turn.ok, [d.code for d in turn.diagnostics
                                          if d.severity is Severity.ERROR])
            result = session.run(turn.code)
            now = _verdict(result.ok, [d.code for d in result.diagnostics
                                       if d.severity is Severity.ERROR])
            rows.append(ReplayRow(turn.turn, recorded, now))
    return rows

"""Showing an agent run live in the terminal (rich): the model's text as it streams, the
code it wrote, each stage's verdict, diagnostics, output, and the answer.
"""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax

from engine.agent.loop import AgentAnswer, Hooks
from engine.agent.transcript import TurnRecord
from engine.results import StageStatus, value_json

_MARK = {StageStatus.PASSED: "[green]✓[/]", StageStatus.FAILED: "[red]✗[/]",
         StageStatus.SKIPPED: "[dim]·[/]"}


class LiveDisplay:
    def __init__(self, console: Console, *, show_model_text: bool = True) -> None:
        self.console = console
        self.show_model_text = show_model_text

    def hooks(self) -> Hooks:
        return Hooks(on_text=self.text if self.show_model_text else None,
                     on_turn_start=self.turn_start, on_turn=self.turn)

    def turn_start(self, turn: int) -> None:
        self.console.rule(f"turn {turn}", style="dim")

    def text(self, chunk: str) -> None:
        self.console.print(chunk, end="", style="dim", markup=False, highlight=False)

    def turn(self, record: TurnRecord) -> None:
        out = self.console
        if self.show_model_text:
            out.print()
        if record.error:
            out.print(f"[bold red]model error:[/] {escape(record.error)}")
            return
        for d in record.extraction:
            out.print(f"[yellow]{d.code}[/] {escape(d.message)}")
        if record.code:
            out.print(Panel(Syntax(record.code.rstrip(), "python", line_numbers=True),
                            title="code", expand=False))
        for call in record.requested_calls:
            out.print(f"[cyan]tool call[/] {escape(call['name'])}"
                      f"({escape(json.dumps(call['arguments']))})")
        if record.stages:
            out.print("  ".join(f"{_MARK[s.status]} {s.stage.value}" for s in record.stages)
                      + ("  [green]✓ run[/]" if record.executed and record.ok else
                         "  [red]✗ run[/]" if record.executed else ""))
        for d in record.diagnostics:
            out.print(f"  [red]{d.code}[/] [dim]{d.stage.value}[/] {d.line}:{d.column} "
                      f"{escape(d.message)}" + (f"\n    [cyan]hint:[/] {escape(d.hint)}"
                                                if d.hint else ""))
        if record.stdout.strip():
            out.print(Panel(escape(record.stdout.rstrip()), title="output", expand=False))
        if record.tool_calls and not record.requested_calls:
            out.print(f"  [dim]{len(record.tool_calls)} tool call(s)[/]")

    def answer(self, answer: AgentAnswer) -> None:
        style = "green" if answer.stop_reason in ("final_answer", "answered") else "red"
        body = (value_json(answer.value, indent=2) if answer.value is not None
                else (answer.error or "(no answer)"))
        self.console.print(Panel(escape(body), title=f"answer ({answer.stop_reason})",
                                 border_style=style, expand=False))
        self.console.print(
            f"[dim]{answer.turns} turn(s), {answer.prompt_tokens} prompt + "
            f"{answer.completion_tokens} completion tokens, {answer.wall_ms / 1000:.1f} s[/]")

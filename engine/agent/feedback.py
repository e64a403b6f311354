"""What the model is told after each turn: one observation per snippet, in one of three styles.

* ``structured``: per diagnostic its stage, code, line:column, message, the offending line and
  the hint; then the captured output and the value;
* ``plain``: the text a Python user would see (a traceback or a compiler-style error), and the
  output;
* ``none``: only that it did not work, and the output.

The style is a choice so that its effect on a model can be measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from engine.agent.templates import render
from engine.diagnostics import Diagnostic, Severity, Stage
from engine.results import CheckReport, RunResult, value_json

FeedbackMode = Literal["structured", "plain", "none"]

_PLAIN_NAMES = {Stage.PARSE: "SyntaxError", Stage.POLICY: "PolicyError",
                Stage.TYPES: "TypeError", Stage.EXTRACT: "Error"}


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters not shown]"


def _structured(d: Diagnostic) -> list[str]:
    lines = [render("structured.diagnostic", stage=d.stage.value, code=d.code, line=d.line,
                    column=d.column, message=d.message)]
    if d.source_line.strip():
        lines.append(render("structured.source", source=d.source_line.strip()))
    if d.hint:
        lines.append(render("structured.hint", hint=d.hint))
    return lines


def _plain(d: Diagnostic, result: RunResult) -> str:
    if d.stage is Stage.RUNTIME and result.traceback:
        return result.traceback
    caret = " " * (d.column - 1) + "^"
    return (f'  File "<snippet>", line {d.line}\n    {d.source_line}\n    {caret}\n'
            f"{_PLAIN_NAMES.get(d.stage, 'Error')}: {d.message}")


def observation(result: RunResult, mode: FeedbackMode, max_chars: int, *,
                closing: bool = True, notes: Sequence[Diagnostic] = ()) -> str:
    """The message that goes back to the model after a snippet; ``closing`` adds what an
    agent loop asks for next (a new code block). ``notes`` are the extraction's warnings
    (code blocks not run), told in the structured style only."""
    errors = [d for d in result.diagnostics if d.severity is not Severity.NOTE]
    failing = [d for d in errors if d.severity is Severity.ERROR]
    parts: list[str] = []
    if mode == "structured":
        for note in notes:
            if note.severity is Severity.WARNING:
                parts.extend(_structured(note))
    if not result.executed:
        stage = failing[0].stage.value if failing else "check"
        if mode == "structured":
            parts.append(render("structured.rejected", stage=stage, count=len(failing)))
    elif not result.ok and mode == "structured":
        parts.append(render("structured.failed"))
    elif mode == "structured":
        parts.append(render("structured.succeeded"))
    if failing or not result.ok:
        if mode == "structured":
            for d in errors:
                parts.extend(_structured(d))
        elif mode == "plain":
            unique = dict.fromkeys(_plain(d, result) for d in failing)
            parts.append(render("plain.failed", errors="\n".join(unique)))
        else:
            parts.append(render("none.failed"))
    output = result.stdout + result.stderr
    if output.strip():
        parts.append(render(f"{mode}.output", output=truncate(output.rstrip("\n"), max_chars)))
    if result.value is not None and result.ok:
        value = value_json(result.value, ensure_ascii=False)
        parts.append(render(f"{mode}.value", value=truncate(value, max_chars)))
    follow = render(f"{mode}.next") if result.ok else render(f"{mode}.again")
    if follow and closing:
        parts.append(follow)
    return "\n".join(p for p in parts if p) or render("structured.succeeded")


def check_observation(report: CheckReport) -> str:
    """What a model is told about a snippet that was checked, not run (structured style)."""
    if report.ok:
        return render("structured.checked")
    failing = [d for d in report.diagnostics if d.severity is Severity.ERROR]
    stage = failing[0].stage.value if failing else "check"
    lines = [render("structured.rejected", stage=stage, count=len(failing))]
    for d in report.diagnostics:
        if d.severity is not Severity.NOTE:
            lines.extend(_structured(d))
    return "\n".join(lines)


def no_code_observation(diagnostics: Sequence[Diagnostic], mode: FeedbackMode, *,
                        structured: bool = False) -> str:
    """What a reply without code is told; ``structured``: the agent asked for JSON."""
    if mode == "structured":
        return "\n".join(line for d in diagnostics if d.severity is Severity.ERROR
                         for line in _structured(d))
    return render("structured_output.no_code" if structured else "no_code")


def compact_observation(turn: int, result: RunResult) -> str:
    """An older observation shortened to its verdict and the codes with their lines: what a
    long run keeps of it when the context is small."""
    failing = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    if not result.executed:
        verdict = "was not run"
    elif not result.ok:
        verdict = "ran and failed"
    else:
        verdict = "ran"
    codes = ", ".join(f"{d.code} line {d.line}" for d in failing[:5])
    output = (result.stdout + result.stderr).strip()
    lines = output.count("\n") + 1 if output else 0
    return render("compacted", turn=turn, verdict=verdict,
                  codes=f" ({codes})" if codes else "",
                  output=f", {lines} line(s) of output not shown" if lines else "")

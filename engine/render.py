"""Renderers for check reports: rich text for people, JSON for programs, SARIF for CI.

All three read the same ``Diagnostic`` objects; none of them adds information the others lack.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape

from engine import codes
from engine.diagnostics import Diagnostic, Severity
from engine.results import CheckReport, RunResult, StageStatus, value_json

JSON_SCHEMA_ID = "codeact.check/v1"
RUN_SCHEMA_ID = "codeact.run/v1"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_URI = "https://github.com/codeact-engine/codeact-engine"


@dataclass(frozen=True)
class FileReport:
    """A report and the file (or ``-`` for standard input) it is about."""

    path: str
    report: CheckReport


_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}
_STATUS_STYLE = {StageStatus.PASSED: "green", StageStatus.FAILED: "red", StageStatus.SKIPPED: "dim"}


def print_text(files: Sequence[FileReport], console: Console) -> None:
    """Ruff-like text: location, code, message, the line with a caret, and the hint."""
    total = 0
    for item in files:
        report = item.report
        for d in report.diagnostics:
            total += d.severity is Severity.ERROR
            _print_diagnostic(item.path, d, console)
        verdict = " ".join(
            f"{s.stage.value}:[{_STATUS_STYLE[s.status]}]{s.status.value}[/]" for s in report.stages
        )
        elapsed = sum(s.duration_ms for s in report.stages)
        mark = "[green]ok[/]" if report.ok else "[red]rejected[/]"
        console.print(f"{escape(item.path)}: {mark}  {verdict}  [dim]({elapsed:.1f} ms)[/]")
    if total:
        console.print(f"[bold red]Found {total} error{'s' if total != 1 else ''}.[/]")


def _print_diagnostic(path: str, d: Diagnostic, console: Console) -> None:
    style = _STYLE[d.severity]
    console.print(
        f"[bold]{escape(path)}:{d.line}:{d.column}:[/] [{style}]{d.code}[/] "
        f"[dim]\\[{d.stage.value}/{d.rule}][/] {escape(d.message)}"
    )
    if d.source_line:
        gutter = f"{d.line:>4} | "
        console.print(f"[dim]{gutter}[/]{escape(d.source_line)}", highlight=False)
        width = 1
        if d.end_line == d.line and d.end_column and d.end_column > d.column:
            width = d.end_column - d.column
        console.print(" " * (len(gutter) + d.column - 1) + f"[{style}]{'^' * width}[/]")
    if d.hint:
        console.print(f"     [cyan]= hint:[/] {escape(d.hint)}")


def print_run(path: str, result: RunResult, console: Console) -> None:
    """A run for people: the snippet's output, its value, diagnostics and what it used."""
    for stream in (result.stdout, result.stderr):  # the snippet's own bytes, as they are
        if stream:
            console.file.write(stream if stream.endswith("\n") else stream + "\n")
    console.file.flush()
    for d in result.diagnostics:
        _print_diagnostic(path, d, console)
    if result.value is not None or result.final:
        label = "final answer" if result.final else "value"
        console.print(f"[bold green]{label}:[/] {escape(value_json(result.value))}")
    usage = result.usage
    spent = (f"  [dim]({usage.wall_ms:.1f} ms wall, {usage.cpu_ms:.1f} ms cpu, "
             f"{usage.tool_calls} tool calls)[/]" if usage else "")
    verdict = "[green]ok[/]" if result.ok else (
        "[red]failed[/]" if result.executed else "[red]rejected[/]")
    console.print(f"{escape(path)}: {verdict}{spent}")


def run_to_json(runs: Sequence[tuple[str, RunResult]]) -> str:
    """The stable JSON schema ``codeact.run/v1``."""
    payload = {
        "schema": RUN_SCHEMA_ID,
        "ok": all(r.ok for _, r in runs),
        "runs": [{"file": path, **result.model_dump(mode="json")} for path, result in runs],
    }
    return json.dumps(payload, indent=2)


def to_json(files: Sequence[FileReport]) -> str:
    """The stable JSON schema ``codeact.check/v1``."""
    payload = {
        "schema": JSON_SCHEMA_ID,
        "ok": all(f.report.ok for f in files),
        "files": [
            {
                "file": f.path,
                "ok": f.report.ok,
                "policy_digest": f.report.policy_digest,
                "stages": [s.model_dump(mode="json") for s in f.report.stages],
                "diagnostics": [d.model_dump(mode="json") for d in f.report.diagnostics],
            }
            for f in files
        ],
    }
    return json.dumps(payload, indent=2)


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}


def to_sarif(files: Sequence[FileReport], version: str) -> str:
    """A SARIF 2.1.0 log with one run; rules come from the code catalog."""
    used = sorted({d.code for f in files for d in f.report.diagnostics})
    rules = []
    for code in used:
        entry = codes.CATALOG.get(code)
        if entry is None:
            continue
        rule: dict[str, Any] = {
            "id": entry.code,
            "name": entry.rule,
            "shortDescription": {"text": entry.title},
            "fullDescription": {"text": entry.explanation},
            "properties": {"stage": entry.stage.value},
        }
        if entry.hint:
            rule["help"] = {"text": entry.hint}
        rules.append(rule)
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for f in files:
        for d in f.report.diagnostics:
            region: dict[str, Any] = {"startLine": d.line, "startColumn": d.column}
            if d.end_line is not None:
                region["endLine"] = d.end_line
            if d.end_column is not None:
                region["endColumn"] = d.end_column
            if d.source_line:
                region["snippet"] = {"text": d.source_line}
            message = d.message + (f" (hint: {d.hint})" if d.hint else "")
            result: dict[str, Any] = {
                "ruleId": d.code,
                "level": _SARIF_LEVEL[d.severity],
                "message": {"text": message},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": f.path},
                    "region": region,
                }}],
                "properties": {"stage": d.stage.value, "rule": d.rule},
            }
            if d.code in index:
                result["ruleIndex"] = index[d.code]
            results.append(result)
    digests = sorted({f.report.policy_digest for f in files if f.report.policy_digest})
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "properties": {"policyDigest": digests[0] if len(digests) == 1 else digests},
            "tool": {"driver": {
                "name": "codeact-engine",
                "version": version,
                "informationUri": TOOL_URI,
                "rules": rules,
            }},
            "results": results,
        }],
    }
    return json.dumps(log, indent=2)


def explain(code: codes.Code) -> str:
    """The catalog entry as Markdown-ish text for ``codeact explain``."""
    parts = [f"{code.code} {code.rule} ({code.stage.value}): {code.title}", "", code.explanation]
    if code.hint:
        parts += ["", f"What to do: {code.hint}"]
    if code.example:
        parts += ["", "Example:", *(f"    {line}" for line in code.example.splitlines())]
    return "\n".join(parts)

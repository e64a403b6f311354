"""Policy tests: snippets with the verdict a policy must give them, checked against it.

Like ``opa test`` for Rego policies or Semgrep's rule tests, a cases file pins down what a
policy allows and what it refuses, so that a change to the policy (or to the engine) that
changes a verdict fails a test instead of passing unnoticed::

    policy = "default"    # optional: a bundled name, or a .toml path relative to this file
    tools = "mytools"     # optional: module, module:ATTR, or a .py file relative to this file

    [[case]]
    name = "os-is-refused"
    source = "import os"
    expect = "refused"    # or "ok"
    codes = ["P101"]      # optional: each must be among the errors reported
    stage = "policy"      # optional: the stage that refused (parse, policy, types, runtime)

    [[case]]
    name = "division-by-zero-fails-when-run"
    source = "print(1 / 0)"
    expect = "refused"
    codes = ["R101"]
    run = true            # run it in the sandbox too: "ok" then means it ran without error

A policy or toolset given by the caller (the command line) wins over the file's; without
either, the cases run against the default policy and no tools. Mistakes in the file are
errors that name the file, the case and the key (``CaseFileError``), never skipped cases.
"""

from __future__ import annotations

import difflib
import json
import re
import time
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from engine import codes as catalog
from engine.diagnostics import Diagnostic, Stage
from engine.errors import ConfigIssue, EngineError
from engine.pipeline import Engine
from engine.policy.model import Policy, bundled_policy_names
from engine.tools import ToolRegistry, load_tools

#: The JSON output's schema tag, as ``codeact.check/v1`` tags ``codeact check --format json``.
JSON_SCHEMA_ID = "codeact.policy-test/v1"

#: What a case expects of its snippet: accepted (and, with ``run``, run without error), or not.
Outcome = Literal["ok", "refused"]
#: The stages that can refuse a snippet, in pipeline order.
CaseStage = Literal["parse", "policy", "types", "runtime"]
ReportFormat = Literal["text", "json", "junit"]


class CaseFileError(EngineError):
    """A policy test file could not be read or validated; each issue names file and key."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("invalid policy test file:\n"
                         + "\n".join(f"  {issue}" for issue in issues))


def _invalid(message: str) -> PydanticCustomError:
    # The message goes in as context, so braces in it are never read as a template.
    return PydanticCustomError("invalid_case", "{message}", {"message": message})


class Case(BaseModel):
    """One ``[[case]]``: a snippet and the verdict the policy must give it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: StrictStr = Field(description="Unique within the file; names the case in reports.")
    source: StrictStr = Field(description="The snippet.")
    expect: Outcome = Field(description='"ok" (accepted) or "refused".')
    run: StrictBool = Field(
        default=False, description="Also run the snippet in the sandbox: then \"ok\" means it "
        "ran without error, and runtime errors (R101...) refuse it.")
    stage: CaseStage | None = Field(
        default=None, description="The stage that must refuse the snippet.")
    codes: tuple[StrictStr, ...] = Field(
        default=(), description="Diagnostic codes that must each be among the errors reported "
        "(others may be reported too).")

    # Validators see the fields declared before theirs (``info.data``): keep the order.

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if not value.strip() or "\n" in value or "\r" in value:
            raise _invalid("must be a non-empty name on one line")
        return value

    @field_validator("stage")
    @classmethod
    def _stage_fits(cls, value: CaseStage | None, info: ValidationInfo) -> CaseStage | None:
        if value is None:
            return value
        if info.data.get("expect") == "ok":
            raise _invalid('a stage goes with expect = "refused" only (an accepted snippet '
                           "has no refusing stage)")
        if value == "runtime" and not info.data.get("run", False):
            raise _invalid('stage = "runtime" needs run = true (a check alone never runs the '
                           "snippet)")
        return value

    @field_validator("codes")
    @classmethod
    def _codes_fit(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if not value:
            return value
        if info.data.get("expect") == "ok":
            raise _invalid('codes go with expect = "refused" only (an accepted snippet '
                           "reports no errors)")
        run, stage = info.data.get("run", False), info.data.get("stage")
        problems = [p for p in (_code_problem(code, run, stage) for code in value) if p]
        if problems:
            raise _invalid("; ".join(problems))
        return value


def _code_problem(code: str, run: bool, stage: str | None) -> str | None:
    entry = catalog.CATALOG.get(code)
    if entry is None:
        # A lower-case code or a rule name; a letter O or I typed for a digit; a near miss.
        known = catalog.lookup(code) or catalog.lookup(
            code[:1] + code[1:].upper().translate(str.maketrans("OIL", "011")))
        close = [known.code] if known else difflib.get_close_matches(code, catalog.CATALOG, n=1)
        return f"{code!r} is not a diagnostic code" + (
            f" (did you mean {close[0]!r}?)" if close else " (codeact explain lists them)")
    if entry.stage is Stage.EXTRACT:
        return (f"{code} is reported when code is extracted from a model's reply, never by a "
                "check or a run")
    if entry.stage is Stage.RUNTIME and not run:
        return f"{code} is a runtime code: set run = true to run the snippet"
    if stage is not None and entry.stage.value != stage:
        return (f"{code} is a {entry.stage.value} code, but stage = {stage!r} (a refused "
                "snippet reports errors of the refusing stage only)")
    return None


class CaseFile(BaseModel):
    """A cases file as written: optional ``policy`` and ``tools``, then ``[[case]]`` tables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: StrictStr | None = Field(
        default=None, description="A bundled policy name or a .toml file (relative to the "
        "cases file).")
    tools: StrictStr | None = Field(
        default=None, description="A toolset: module, module:ATTR, or a .py file (relative to "
        "the cases file).")
    cases: tuple[Case, ...] = Field(alias="case", min_length=1)

    @field_validator("cases")
    @classmethod
    def _unique_names(cls, value: tuple[Case, ...]) -> tuple[Case, ...]:
        seen: dict[str, list[int]] = {}
        for number, case in enumerate(value, 1):
            seen.setdefault(case.name, []).append(number)
        twice = [f"{name!r} (cases {', '.join(f'#{n}' for n in numbers)})"
                 for name, numbers in seen.items() if len(numbers) > 1]
        if twice:
            raise _invalid("duplicate case name " + ", ".join(twice) + "; names must be unique")
        return value


def load_cases(path: str | Path) -> CaseFile:
    """Read and validate a cases file; ``CaseFileError`` names the file, case and key."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaseFileError([ConfigIssue(source, "", "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseFileError([ConfigIssue(source, "", f"cannot read: {exc}")]) from exc
    return parse_cases(text, source=source)


def parse_cases(text: str, *, source: str = "<string>") -> CaseFile:
    """Validate the text of a cases file; ``source`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CaseFileError([ConfigIssue(source, "", f"not valid TOML: {exc}")]) from exc
    try:
        return CaseFile.model_validate(data)
    except ValidationError as exc:
        issues = [_issue(source, data, err) for err in exc.errors()]
        raise CaseFileError([issue for issue in issues if issue is not None]) from exc


_FILE_KEYS = ("policy", "tools", "case")
_CASE_KEYS = tuple(Case.model_fields)


def _issue(source: str, data: dict[str, Any], err: Any) -> ConfigIssue | None:
    loc: tuple[str | int, ...] = tuple(err["loc"])
    if loc == ("case",) and err["type"] == "too_short" and err["input"]:
        return None  # the cases are there, but invalid: each has its own issue
    key, case_level = _key(loc, data)
    kind = err["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1])
        known = _CASE_KEYS if case_level else _FILE_KEYS
        close = difflib.get_close_matches(name, known, n=1)
        message = "unknown key" + (f" (did you mean {close[0]!r}?)" if close else
                                   f" (known keys: {', '.join(known)})")
    elif loc == ("case",) and kind in ("missing", "too_short"):
        message = "no cases: add [[case]] tables"
    elif loc == ("case",) and kind == "tuple_type":
        message = "must be an array of tables: write [[case]], not [case]"
    elif kind == "missing":
        message = "required key is missing"
    elif kind in ("model_type", "dict_type"):
        message = "must be a table"
    elif kind == "tuple_type":
        message = "must be an array" + _got(err)
    elif kind == "invalid_case":
        message = err["msg"]
    else:
        message = err["msg"] + _got(err)
    return ConfigIssue(source, key, message)


def _got(err: Any) -> str:
    if "input" not in err or isinstance(err["input"], (dict, list)):
        return ""
    shown = repr(err["input"])
    return f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"


def _key(loc: tuple[str | int, ...], data: dict[str, Any]) -> tuple[str, bool]:
    """``case #3 ('name').codes[0]`` for a location; and whether it is inside a case."""
    rest = loc
    label = ""
    if len(loc) >= 2 and loc[0] == "case" and isinstance(loc[1], int):
        number = loc[1]
        raw = data.get("case")
        name = None
        if isinstance(raw, list) and number < len(raw) and isinstance(raw[number], dict):
            name = raw[number].get("name")
        label = f"case #{number + 1}" + (f" ({name!r})" if isinstance(name, str) else "")
        rest = loc[2:]
    for part in rest:
        label += f"[{part}]" if isinstance(part, int) else (f".{part}" if label else part)
    return label, len(loc) >= 3 and loc[0] == "case"


def resolve_policy(cases: CaseFile, cases_path: str | Path,
                   override: str | Path | Policy | None = None) -> Policy:
    """The policy the cases run against: ``override`` (a name, or a path relative to the
    working directory), else the file's ``policy`` (a path relative to the file), else the
    default policy."""
    if isinstance(override, Policy):
        return override
    if override is not None:
        return Policy.load(override)
    if cases.policy is None:
        return Policy.load("default")
    ref = cases.policy
    if ref.endswith(".toml") or len(Path(ref).parts) > 1:
        path = Path(ref) if Path(ref).is_absolute() else Path(cases_path).parent / ref
        if not path.is_file():
            raise CaseFileError([ConfigIssue(str(cases_path), "policy",
                                             f"policy file {ref!r} does not exist ({path})")])
        return Policy.load(path)
    if ref not in bundled_policy_names():
        names = ", ".join(bundled_policy_names())
        raise CaseFileError([ConfigIssue(
            str(cases_path), "policy", f"no bundled policy named {ref!r}; bundled: {names}, "
            "or give the path of a .toml file (relative to this file)")])
    return Policy.load(ref)


def resolve_tools(cases: CaseFile, cases_path: str | Path,
                  override: str | ToolRegistry | None = None) -> ToolRegistry:
    """The tools the snippets may call: ``override``, else the file's ``tools`` (a .py path
    relative to the file), else none."""
    if isinstance(override, ToolRegistry):
        return override
    if override is not None:
        return load_tools(override)
    if cases.tools is None:
        return ToolRegistry()
    target, colon, attr = cases.tools.partition(":")
    if (target.endswith(".py") or "/" in target) and not Path(target).is_absolute():
        target = str(Path(cases_path).parent / target)
    try:
        return load_tools(target + colon + attr)
    except EngineError as exc:
        raise CaseFileError([ConfigIssue(str(cases_path), "tools", str(exc))]) from exc


class Verdict(BaseModel):
    """A verdict on a snippet: the outcome, the error codes and the stage that refused."""

    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    codes: tuple[str, ...] = ()
    stage: Stage | None = None

    def describe(self) -> str:
        """``refused [P101, P120] at policy``; ``ok``."""
        text: str = self.outcome
        if self.codes:
            text += f" [{', '.join(self.codes)}]"
        if self.stage is not None:
            text += f" at {self.stage.value}"
        return text


class CaseResult(BaseModel):
    """What became of one case: the verdict expected, the one got, and how they differ."""

    model_config = ConfigDict(frozen=True)

    name: str
    passed: bool
    expected: Verdict = Field(description="The codes are those the case requires (a subset).")
    got: Verdict = Field(description="The codes are every error code reported, in order.")
    diff: str = Field(default="", description="Expected against got, for a failed case.")
    run: bool = Field(default=False, description="The snippet was run, not only checked.")
    errors: tuple[Diagnostic, ...] = Field(default=(), description="The errors reported.")
    duration_ms: float = 0.0


class CaseReport(BaseModel):
    """Every case of a file against one policy."""

    model_config = ConfigDict(frozen=True)

    file: str
    policy: str = Field(description="The policy's name.")
    policy_digest: str = Field(description="``Policy.digest``: what the policy enforces.")
    results: tuple[CaseResult, ...] = ()
    warnings: tuple[str, ...] = Field(
        default=(), description="What is odd about the policy and tools together (a tool "
        "name in [tools] that no tool has).")

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    @property
    def failures(self) -> tuple[CaseResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    @property
    def ok(self) -> bool:
        return self.failed == 0


def evaluate_case(engine: Engine, case: Case) -> CaseResult:
    """Check the case's snippet with ``engine`` (and run it, with ``run = true``) and
    compare the verdict with the expected one."""
    started = time.perf_counter()
    if case.run:
        result = engine.run(case.source)
        errors = result.errors
        refused = not result.ok or bool(errors)
        failed_stage = result.check.failed_stage if result.check is not None else None
    else:
        report = engine.check(case.source)
        errors = report.errors
        refused = not report.ok or bool(errors)
        failed_stage = report.failed_stage
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    if refused:
        stage = failed_stage or (errors[0].stage if errors else Stage.RUNTIME)
        got = Verdict(outcome="refused", codes=tuple(dict.fromkeys(d.code for d in errors)),
                      stage=stage)
    else:
        got = Verdict(outcome="ok")
    expected = Verdict(outcome=case.expect, codes=case.codes,
                       stage=Stage(case.stage) if case.stage is not None else None)
    diff = _diff(expected, got)
    return CaseResult(name=case.name, passed=not diff, expected=expected, got=got, diff=diff,
                      run=case.run, errors=errors, duration_ms=elapsed)


def _diff(expected: Verdict, got: Verdict) -> str:
    """Empty when ``got`` satisfies ``expected``, else ``expected ..., got ...``."""
    text = f"expected {expected.describe()}, got {got.describe()}"
    if expected.outcome != got.outcome:
        return text
    if expected.outcome == "ok":
        return ""
    missing = [c for c in expected.codes if c not in got.codes]
    wrong_stage = expected.stage is not None and expected.stage is not got.stage
    if missing:
        return text + f" (missing {', '.join(missing)})"
    return text if wrong_stage else ""


def evaluate_cases(engine: Engine, cases: Iterable[Case], *, file: str = "<cases>") -> CaseReport:
    """Every case against ``engine`` (its policy and tools), in order."""
    engine.warm_up()  # a check worker's start is no case's time
    return CaseReport(file=file, policy=engine.policy.name, policy_digest=engine.policy.digest,
                      results=tuple(evaluate_case(engine, case) for case in cases),
                      warnings=engine.policy_warnings)


def run_cases(cases_file: str | Path, policy: str | Path | Policy | None = None,
              tools: str | ToolRegistry | None = None) -> CaseReport:
    """Load a cases file and check (or run) every case against one engine.

    ``policy`` and ``tools`` (the command line's) win over the file's ``policy`` and
    ``tools``. Raises ``CaseFileError`` for a bad file, ``PolicyError`` for a bad policy,
    ``ToolLoadError`` for a toolset that cannot be loaded, and ``SandboxUnavailableError``
    when a ``run = true`` case cannot run here.
    """
    loaded = load_cases(cases_file)
    resolved = resolve_policy(loaded, cases_file, policy)
    registry = resolve_tools(loaded, cases_file, tools)
    with Engine(registry, resolved) as engine:
        return evaluate_cases(engine, loaded.cases, file=str(cases_file))


def _short_digest(digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    return f"{algorithm}:{hexdigest[:12]}"


def render_text(report: CaseReport, *, verbose: bool = False) -> str:
    """pytest-like: a line per failed case with expected against got and the errors it got
    under it, then ``N passed, M failed``. ``verbose`` adds a line per passed case."""
    lines = [f"{report.file}: {len(report.results)} cases against policy {report.policy!r} "
             f"({_short_digest(report.policy_digest)})"]
    lines += [f"warning: {warning}" for warning in report.warnings]
    for result in report.results:
        if not result.passed:
            lines.append(f"FAILED {report.file}::{result.name} - {result.diff}")
            lines += [f"    {d.line}:{d.column} {d.code} {d.message}" for d in result.errors]
        elif verbose:
            lines.append(f"PASSED {report.file}::{result.name}")
    lines.append(f"{report.passed} passed, {report.failed} failed")
    return "\n".join(lines)


def render_json(report: CaseReport) -> str:
    """The stable JSON schema ``codeact.policy-test/v1``."""
    payload = {"schema": JSON_SCHEMA_ID, "ok": report.ok, "passed": report.passed,
               "failed": report.failed, **report.model_dump(mode="json")}
    return json.dumps(payload, indent=2)


# Characters XML 1.0 cannot hold at all, not even escaped (a snippet may quote them).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def render_junit(report: CaseReport) -> str:
    """JUnit XML, as CI systems read it: one testsuite, a testcase per case, a ``failure``
    (its message the diff) for each failed case."""
    seconds = f"{sum(r.duration_ms for r in report.results) / 1000:.3f}"
    counts = {"tests": str(len(report.results)), "failures": str(report.failed),
              "errors": "0"}
    suites = ET.Element("testsuites", {"name": "codeact policy test", **counts, "time": seconds})
    suite = ET.SubElement(suites, "testsuite", {"name": _xml(report.file), **counts,
                                                "skipped": "0", "time": seconds})
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="policy", value=_xml(report.policy))
    ET.SubElement(properties, "property", name="policy.digest", value=report.policy_digest)
    classname = _xml(".".join(Path(report.file).with_suffix("").parts) or report.file)
    for result in report.results:
        case = ET.SubElement(suite, "testcase", name=_xml(result.name), classname=classname,
                             time=f"{result.duration_ms / 1000:.3f}")
        if result.passed:
            continue
        failure = ET.SubElement(case, "failure", message=_xml(result.diff),
                                type="PolicyCaseMismatch")
        details = [f"expected: {result.expected.describe()}", f"got:      {result.got.describe()}"]
        details += [f"  {d.line}:{d.column} {d.code} {d.message}" for d in result.errors]
        failure.text = _xml("\n".join(details))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def render_report(report: CaseReport, format: ReportFormat = "text", *,
                  verbose: bool = False) -> str:
    """The report as ``text`` (``verbose``: every case, and the errors of failed ones),
    ``json`` or ``junit``."""
    if format == "json":
        return render_json(report)
    if format == "junit":
        return render_junit(report)
    return render_text(report, verbose=verbose)


__all__ = [
    "JSON_SCHEMA_ID",
    "Case",
    "CaseFile",
    "CaseFileError",
    "CaseReport",
    "CaseResult",
    "CaseStage",
    "Outcome",
    "ReportFormat",
    "Verdict",
    "evaluate_case",
    "evaluate_cases",
    "load_cases",
    "parse_cases",
    "render_json",
    "render_junit",
    "render_report",
    "render_text",
    "resolve_policy",
    "resolve_tools",
    "run_cases",
]

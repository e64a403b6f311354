"""Policy tests (`codeact policy test`): cases files say what a policy allows and refuses, and
a case whose verdict differs fails with expected against got."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Engine, Policy
from engine.diagnostics import Stage
from engine.policy.cases import (
    JSON_SCHEMA_ID,
    CaseFileError,
    CaseReport,
    CaseResult,
    Verdict,
    evaluate_cases,
    load_cases,
    parse_cases,
    render_json,
    render_junit,
    render_report,
    render_text,
    resolve_policy,
    resolve_tools,
    run_cases,
)
from engine.policy.model import bundled_policy_dir

EXAMPLES = bundled_policy_dir() / "tests"


@pytest.fixture(scope="module")
def default_engine() -> Iterator[Engine]:
    with Engine((), "default") as engine:
        yield engine


def case(name: str, source: str, expect: str, extra: str = "") -> str:
    """A ``[[case]]`` table; ``extra`` holds further ``key = value`` lines."""
    return (f"[[case]]\nname = {json.dumps(name)}\nsource = {json.dumps(source)}\n"
            f"expect = {json.dumps(expect)}\n{extra}\n")


def evaluate(engine: Engine, text: str, file: str = "cases.toml") -> CaseReport:
    return evaluate_cases(engine, parse_cases(text, source=file).cases, file=file)


def by_name(report: CaseReport) -> dict[str, CaseResult]:
    return {r.name: r for r in report.results}


# -- the bundled examples ------------------------------------------------------------------

@pytest.mark.parametrize("policy", ["default", "strict", "data"])
def test_the_bundled_examples_pass_against_their_policy(policy: str) -> None:
    path = EXAMPLES / f"{policy}.toml"
    report = run_cases(path)
    assert report.ok, render_text(report, verbose=True)
    assert report.policy == policy
    assert report.policy_digest == Policy.load(policy).digest
    assert 8 <= len(report.results) <= 25
    outcomes = {r.expected.outcome for r in report.results}
    assert outcomes == {"ok", "refused"}, "examples show what is allowed and what is refused"
    assert any(r.run for r in report.results), "at least one example runs in the sandbox"
    assert render_text(report).splitlines()[-1] == f"{len(report.results)} passed, 0 failed"


def test_the_command_line_policy_wins_over_the_file() -> None:
    strict_cases = load_cases(EXAMPLES / "strict.toml")
    assert resolve_policy(strict_cases, EXAMPLES / "strict.toml").name == "strict"
    assert resolve_policy(strict_cases, EXAMPLES / "strict.toml", "default").name == "default"


# -- verdicts and diffs ----------------------------------------------------------------------

WRONG = (
    case("os-allowed", "import os", "ok")
    + case("math-refused", "import math", "refused", 'codes = ["P101"]\nstage = "policy"')
    + case("wrong-code", "import os", "refused", 'codes = ["P110"]')
    + case("wrong-stage", "import os", "refused", 'stage = "types"')
    + case("math-ok", "import math\nprint(math.pi)", "ok")
    + case("os-refused", "import os", "refused", 'codes = ["P101"]\nstage = "policy"')
)


def test_a_wrong_expectation_fails_with_expected_against_got(default_engine: Engine) -> None:
    report = evaluate(default_engine, WRONG, "wrong.toml")
    results = by_name(report)
    assert {name: r.diff for name, r in results.items() if not r.passed} == {
        "os-allowed": "expected ok, got refused [P101] at policy",
        "math-refused": "expected refused [P101] at policy, got ok",
        "wrong-code": "expected refused [P110], got refused [P101] at policy (missing P110)",
        "wrong-stage": "expected refused at types, got refused [P101] at policy",
    }
    assert results["math-ok"].passed and results["math-ok"].diff == ""
    assert results["os-refused"].passed
    assert results["os-allowed"].got == Verdict(outcome="refused", codes=("P101",),
                                                stage=Stage.POLICY)
    assert [d.code for d in results["os-allowed"].errors] == ["P101"]
    assert (report.passed, report.failed, report.ok) == (2, 4, False)

    lines = render_text(report).splitlines()
    assert lines[0].startswith("wrong.toml: 6 cases against policy 'default' (sha256:")
    refusal = "    1:8 P101 module `os` cannot be imported"  # what the case got, under it
    assert lines[1:] == [
        "FAILED wrong.toml::os-allowed - expected ok, got refused [P101] at policy",
        refusal,
        "FAILED wrong.toml::math-refused - expected refused [P101] at policy, got ok",
        "FAILED wrong.toml::wrong-code - expected refused [P110], got refused [P101] at "
        "policy (missing P110)",
        refusal,
        "FAILED wrong.toml::wrong-stage - expected refused at types, got refused [P101] at "
        "policy",
        refusal,
        "2 passed, 4 failed",
    ]
    verbose = render_text(report, verbose=True)
    assert "PASSED wrong.toml::math-ok" in verbose


def test_codes_need_only_be_among_those_reported(default_engine: Engine) -> None:
    text = (
        # super(B, self) is P134 and its __init__ P120: naming one of them is enough
        case("one-of-two", "class A:\n    pass\n\n\nclass B(A):\n    def __init__(self) -> "
             "None:\n        super(B, self).__init__()\n", "refused", 'codes = ["P134"]')
        + case("repeated", "x = ().__class__.__bases__", "refused", 'codes = ["P120"]')
        + case("any-refusal", "import os", "refused")
        + case("syntax", "def f(:\n", "refused", 'codes = ["S001"]\nstage = "parse"')
        + case("types", "x: int = 'a'", "refused", 'codes = ["T108"]\nstage = "types"')
        + case("both-missing", "import os", "refused", 'codes = ["P101", "P120"]')
    )
    results = by_name(evaluate(default_engine, text))
    assert results["one-of-two"].passed
    assert results["one-of-two"].got.codes == ("P134", "P120")
    assert results["repeated"].passed and results["repeated"].got.codes == ("P120",)
    assert results["any-refusal"].passed
    assert results["syntax"].passed and results["syntax"].got.stage is Stage.PARSE
    assert results["types"].passed and results["types"].got.stage is Stage.TYPES
    assert results["both-missing"].diff == (
        "expected refused [P101, P120], got refused [P101] at policy (missing P120)")


def test_run_cases_count_runtime_errors(default_engine: Engine) -> None:
    text = (
        case("checked-only", "print(1 / 0)", "ok")
        + case("run-fails", "print(1 / 0)", "ok", "run = true")
        + case("run-refused", "print(1 / 0)", "refused",
               'codes = ["R101"]\nstage = "runtime"\nrun = true')
        + case("run-ok", "print(1 + 1)", "ok", "run = true")
        + case("refused-before-running", "import os", "refused",
               'codes = ["P101"]\nstage = "policy"\nrun = true')
    )
    results = by_name(evaluate(default_engine, text))
    assert results["checked-only"].passed, "a check does not run the snippet"
    assert results["run-fails"].diff == "expected ok, got refused [R101] at runtime"
    assert results["run-refused"].passed and results["run-refused"].run
    assert results["run-ok"].passed
    assert results["refused-before-running"].passed


# -- renderers ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mixed_report(default_engine: Engine) -> CaseReport:
    text = (case("fine", "print(1)", "ok")
            + case("os <allowed> & \"quoted\"", "import os", "ok")
            + case("refused", "import os", "refused", 'codes = ["P101"]'))
    return evaluate(default_engine, text, "policies/tests/mixed.toml")


def test_json_report_is_tagged_and_complete(mixed_report: CaseReport) -> None:
    data = json.loads(render_json(mixed_report))
    assert data["schema"] == JSON_SCHEMA_ID == "codeact.policy-test/v1"
    assert (data["ok"], data["passed"], data["failed"]) == (False, 2, 1)
    assert data["file"] == "policies/tests/mixed.toml"
    assert data["policy"] == "default"
    assert data["policy_digest"] == Policy.load("default").digest
    failed = data["results"][1]
    assert failed["passed"] is False
    assert failed["expected"] == {"outcome": "ok", "codes": [], "stage": None}
    assert failed["got"] == {"outcome": "refused", "codes": ["P101"], "stage": "policy"}
    assert failed["diff"] == "expected ok, got refused [P101] at policy"
    assert failed["errors"][0]["code"] == "P101"
    assert render_report(mixed_report, "json") == render_json(mixed_report)


def test_junit_report_is_xml_ci_systems_read(mixed_report: CaseReport) -> None:
    text = render_junit(mixed_report)
    assert text.startswith("<?xml")
    root = ET.fromstring(text)
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    for element in (root, suite):
        assert (element.get("tests"), element.get("failures"), element.get("errors")) == (
            "3", "1", "0")
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties == {"policy": "default",
                          "policy.digest": Policy.load("default").digest}
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["fine", "os <allowed> & \"quoted\"", "refused"]
    assert {c.get("classname") for c in cases} == {"policies.tests.mixed"}
    failures = [(c.get("name"), c.find("failure")) for c in cases]
    assert [name for name, f in failures if f is not None] == ["os <allowed> & \"quoted\""]
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "expected ok, got refused [P101] at policy"
    assert "P101 module `os` cannot be imported" in (failure.text or "")
    assert render_report(mixed_report, "junit") == text


def test_junit_escapes_characters_xml_cannot_hold() -> None:
    got = Verdict(outcome="ok")
    report = CaseReport(file="c.toml", policy="p", policy_digest="sha256:00", results=(
        CaseResult(name="nul\x00and\x1bescape", passed=False, expected=Verdict(
            outcome="refused"), got=got, diff="expected refused, got ok \x07"),))
    suite = ET.fromstring(render_junit(report)).find("testsuite")
    assert suite is not None
    testcase = suite.find("testcase")
    assert testcase is not None and testcase.get("name") == "nul\\x00and\\x1bescape"


# -- mistakes in a cases file ----------------------------------------------------------------

GOOD = case("fine", "print(1)", "ok")


@pytest.mark.parametrize(("text", "expected"), [
    (GOOD.replace("expect =", "expected ="),
     ["case #1 ('fine').expected: unknown key (did you mean 'expect'?)",
      "case #1 ('fine').expect: required key is missing"]),
    ('policy = "default"\nsnippets = 1\n' + GOOD, ["snippets: unknown key"]),
    ('[[case]]\nsource = "x"\nexpect = "ok"\n', ["case #1.name: required key is missing"]),
    (GOOD + case("fine", "print(2)", "ok"),
     ["case: duplicate case name 'fine' (cases #1, #2)"]),
    (case("bad", "x", "fails"),
     ["case #1 ('bad').expect: Input should be 'ok' or 'refused' (got 'fails')"]),
    (case("bad", "x", "ok", "run = 'yes'"),
     ["case #1 ('bad').run: Input should be a valid boolean (got 'yes')"]),
    (case("bad", "x", "refused", 'stage = "compile"'), ["case #1 ('bad').stage: "]),
    (case("bad", "x", "ok", 'codes = ["P101"]'),
     ['case #1 (\'bad\').codes: codes go with expect = "refused" only']),
    (case("bad", "x", "refused", 'codes = ["P1O1"]'),
     ["case #1 ('bad').codes: 'P1O1' is not a diagnostic code (did you mean 'P101'?)"]),
    (case("bad", "x", "refused", 'codes = ["R101"]'),
     ["case #1 ('bad').codes: R101 is a runtime code: set run = true"]),
    (case("bad", "x", "refused", 'codes = ["T108"]\nstage = "policy"'),
     ["case #1 ('bad').codes: T108 is a types code, but stage = 'policy'"]),
    (case("bad", "x", "refused", 'stage = "runtime"'),
     ['case #1 (\'bad\').stage: stage = "runtime" needs run = true']),
    ('policy = "default"\n', ["case: no cases: add [[case]] tables"]),
    ('[case]\nname = "x"\n', ["case: must be an array of tables: write [[case]], not [case]"]),
    ("[[case]\n", ["not valid TOML: "]),
])
def test_a_malformed_file_names_file_case_and_key(
        tmp_path: Path, text: str, expected: list[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(CaseFileError) as caught:
        run_cases(path)  # the file is validated before any engine starts
    message = str(caught.value)
    assert message.startswith("invalid policy test file:\n")
    for fragment in expected:
        assert f"\n  {path}: {fragment}" in message, message
    assert all(issue.source == str(path) for issue in caught.value.issues)


def test_every_mistake_is_reported_at_once() -> None:
    text = case("a", "x", "fails") + case("b", "x", "ok", "oops = 1")
    with pytest.raises(CaseFileError) as caught:
        parse_cases(text, source="two.toml")
    assert [str(i) for i in caught.value.issues] == [
        "two.toml: case #1 ('a').expect: Input should be 'ok' or 'refused' (got 'fails')",
        "two.toml: case #2 ('b').oops: unknown key (known keys: name, source, expect, run, "
        "stage, codes)",
    ]


def test_a_missing_file_is_a_case_file_error(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError, match=r"nowhere\.toml: no such file"):
        load_cases(tmp_path / "nowhere.toml")


def test_the_policy_and_tools_of_a_file_are_found_next_to_it(tmp_path: Path) -> None:
    (tmp_path / "team.toml").write_text('extends = "default"\nname = "team"\n')
    (tmp_path / "team_tools.py").write_text(
        "from engine import tool\n\n\n@tool\ndef double(x: int) -> int:\n"
        '    """Twice x."""\n    return 2 * x\n')
    path = tmp_path / "cases.toml"
    path.write_text('policy = "team.toml"\ntools = "team_tools.py"\n' + GOOD)
    loaded = load_cases(path)
    assert resolve_policy(loaded, path).name == "team"
    assert resolve_tools(loaded, path).names == ("double",)

    for header, key, fragment in [
        ('policy = "nonesuch"\n', "policy", "no bundled policy named 'nonesuch'"),
        ('policy = "missing.toml"\n', "policy", "policy file 'missing.toml' does not exist"),
        ('tools = "missing_tools.py"\n', "tools", "missing_tools.py"),
    ]:
        path.write_text(header + GOOD)
        with pytest.raises(CaseFileError) as caught:
            run_cases(path)
        [issue] = caught.value.issues
        assert (issue.source, issue.key) == (str(path), key)
        assert fragment in issue.message

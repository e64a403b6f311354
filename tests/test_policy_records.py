"""Which version of a policy judged what: its digest on every record (issue 18).

``Policy.digest`` travels with check reports, run results, the JSON and SARIF outputs, MCP
results and transcripts (tests/test_agent_cli.py), so an audit log can say which rules decided.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import Engine, Policy
from engine.mcp_server import _run_output
from engine.sandbox.limits import unavailable_reason
from tests.test_cli import SNIPPETS, USERS, run

needs_sandbox = pytest.mark.skipif(unavailable_reason() is not None,
                                   reason="seccomp unavailable")


@needs_sandbox
def test_reports_and_results_carry_the_digest_of_the_policy_that_judged_them() -> None:
    strict = Policy.load("strict")
    with Engine((), strict) as engine:
        report = engine.check("import os")
        refused = engine.run("import os")
        with engine.session() as session:
            ran = session.run("print(1)")
    for record in (report, refused, ran):
        assert record.policy_digest == strict.digest
    assert _run_output("s1", ran).policy_digest == strict.digest
    assert json.loads(ran.model_dump_json())["policy_digest"] == strict.digest


def test_check_json_and_sarif_name_the_digest(tmp_path: Path) -> None:
    snippet = str(SNIPPETS / "deactivate_inactive.py")
    digest = Policy.load("default").digest
    code, output = run("check", snippet, *USERS, "--format", "json")
    assert code == 0 and json.loads(output)["files"][0]["policy_digest"] == digest
    code, output = run("check", snippet, *USERS, "--format", "sarif")
    assert code == 0
    assert json.loads(output)["runs"][0]["properties"]["policyDigest"] == digest


@needs_sandbox
def test_run_json_names_the_digest(tmp_path: Path) -> None:
    snippet = tmp_path / "one.py"
    snippet.write_text("print(1)\n")
    code, output = run("run", str(snippet), "--format", "json", "--policy", "strict")
    assert code == 0, output
    assert json.loads(output)["runs"][0]["policy_digest"] == Policy.load("strict").digest

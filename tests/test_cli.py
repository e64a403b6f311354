"""The `codeact` command: exit codes, the three output formats, stubs, explain, policies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = ROOT / "examples" / "snippets"
USERS = ["--tools", "examples.toolsets.users"]

runner = CliRunner()


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.output


def test_clean_snippet_exits_zero() -> None:
    code, output = run("check", str(SNIPPETS / "deactivate_inactive.py"), *USERS)
    assert code == 0, output
    assert "ok" in output and "types:passed" in output


@pytest.mark.parametrize(("name", "codes"), [
    ("bad_syntax.py", ["S001"]),
    ("bad_policy.py", ["P101", "P110", "P120", "P120", "P120", "P140"]),
    ("bad_types.py", ["T103", "T101"]),
])
def test_bad_snippets_exit_one_with_codes_in_json(name: str, codes: list[str]) -> None:
    code, output = run("check", str(SNIPPETS / name), *USERS, "--format", "json")
    assert code == 1
    payload = json.loads(output)
    assert payload["schema"] == "codeact.check/v1" and payload["ok"] is False
    [file] = payload["files"]
    assert [d["code"] for d in file["diagnostics"]] == codes
    for d in file["diagnostics"]:
        assert {"stage", "code", "rule", "severity", "message", "line", "column", "end_line",
                "end_column", "source_line", "hint"} <= set(d)
        assert d["line"] >= 1 and d["column"] >= 1 and d["hint"]


def test_text_output_shows_caret_and_hint() -> None:
    code, output = run("check", str(SNIPPETS / "bad_types.py"), *USERS)
    assert code == 1
    assert "T103" in output and "^^^^^^^^^^^^^^^^" in output and "= hint:" in output
    assert "Found 2 errors." in output


def test_sarif_output_is_sarif_2_1_0() -> None:
    code, output = run("check", str(SNIPPETS / "bad_policy.py"), *USERS, "-f", "sarif")
    assert code == 1
    log = json.loads(output)
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    [run_] = log["runs"]
    rules = run_["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == {"P101", "P110", "P120", "P140"}
    result = run_["results"][0]
    assert result["ruleId"] == "P101" and result["level"] == "error"
    assert rules[result["ruleIndex"]]["id"] == "P101"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == 1 and region["startColumn"] == 8 and region["endColumn"] == 10
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(
        "bad_policy.py")


def test_several_files_are_one_session(tmp_path: Path) -> None:
    first = tmp_path / "1.py"
    first.write_text("inactive = [u for u in get_all_users() if not u.active]\n")
    second = tmp_path / "2.py"
    second.write_text("print(len(inactive), inactive[0].address.city)\n")
    code, output = run("check", str(first), str(second), *USERS)
    assert code == 0, output
    code, _ = run("check", str(second), *USERS)
    assert code == 1


def test_standard_input() -> None:
    code, output = run("check", "-", *USERS, "-f", "json", stdin="deactivate('x')\n")
    assert code == 1
    assert json.loads(output)["files"][0]["file"] == "-"


@pytest.mark.parametrize("args", [
    ["check", "no_such_file.py"],
    ["check", str(SNIPPETS / "bad_types.py"), "--policy", "nope"],
    ["check", str(SNIPPETS / "bad_types.py"), "--tools", "no.such.module"],
    ["check", str(SNIPPETS / "bad_types.py"), "--format", "xml"],
    ["check"],
    ["explain", "Z999"],
    ["stubs"],
])
def test_usage_errors_exit_two(args: list[str]) -> None:
    code, _ = run(*args)
    assert code == 2


def test_invalid_policy_file_is_usage_error_naming_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[imports]\nallowed = ["math"]\n')
    code, output = run("check", str(SNIPPETS / "bad_types.py"), "--policy", str(bad))
    assert code == 2
    assert "imports.allowed" in output and "unknown key" in output and str(bad) in output


def test_stubs_to_directory_and_stdout(tmp_path: Path) -> None:
    code, output = run("stubs", *USERS)
    assert code == 0 and "def get_all_users() -> list[User]:" in output
    code, _ = run("stubs", *USERS, "-o", str(tmp_path / "users"))
    assert code == 0
    assert (tmp_path / "users" / "__init__.pyi").read_text() == output


def test_explain() -> None:
    code, output = run("explain", "P120")
    assert code == 0 and "dunder-attribute" in output and "__subclasses__" in output
    code, output = run("explain", "arg-type")
    assert code == 0 and output.startswith("T101")
    code, output = run("explain")
    assert code == 0 and "S001" in output and "T199" in output


def test_policy_show_and_validate(tmp_path: Path) -> None:
    code, output = run("policy", "show", "strict")
    assert code == 0 and "You cannot import any module." in output
    code, output = run("policy", "show", "data", "--json")
    assert code == 0 and "decimal" in json.loads(output)["imports"]["allow"]
    good = tmp_path / "good.toml"
    good.write_text('extends = "default"\n')
    assert run("policy", "validate", str(good))[0] == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[limits]\nmemory_mb = 'lots'\n")
    code, output = run("policy", "validate", str(bad))
    assert code == 2 and "limits.memory_mb" in output


def test_installed_entry_point_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "check", str(SNIPPETS / "bad_syntax.py")],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    assert done.returncode == 1 and "S001" in done.stdout


def test_run_prints_output_and_answer() -> None:
    from examples.toolsets import users

    users.reset()
    code, output = run("run", str(SNIPPETS / "deactivate_inactive.py"), *USERS)
    users.reset()
    assert code == 0, output
    assert "deactivated 2969 of 10000 users" in output and "final answer: 2969" in output


def test_run_json_and_failure_exit_code() -> None:
    code, output = run("run", "-", *USERS, "-f", "json", stdin="print(1)\nx = 1 / 0\n")
    assert code == 1
    payload = json.loads(output)
    assert payload["schema"] == "codeact.run/v1" and payload["ok"] is False
    [result] = payload["runs"]
    assert result["stdout"] == "1\n" and result["executed"] is True
    assert [d["code"] for d in result["diagnostics"]] == ["R101"]
    assert result["diagnostics"][0]["line"] == 2


def test_run_refused_snippet_is_not_executed() -> None:
    code, output = run("run", str(SNIPPETS / "bad_policy.py"), *USERS)
    assert code == 1 and "rejected" in output and "P101" in output


def test_repl_keeps_names_and_answers_commands() -> None:
    script = ("x = len(get_all_users())\n"
              "for i in range(2):\n    print('row', i)\n\n"
              "print(x)\n:names\n:rules\nimport os\n:quit\n")
    code, output = run("repl", *USERS, stdin=script)
    assert code == 0, output
    assert "row 0" in output and "row 1" in output and "10000" in output
    assert "x" in output and "You may import only" in output and "P101" in output

"""Policies mean what they say: strict types, every file validated, risky capabilities and
modules that cannot be imported named plainly (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import run


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text('extends = "default"\n' + text)
    return str(path)


def test_wrong_types_are_errors_not_coerced(tmp_path: Path) -> None:
    network = write(tmp_path, "net.toml", '[sandbox]\nnetwork = "yes"\n')
    code, output = run("policy", "validate", network)
    assert code == 2 and "sandbox.network" in output and "'yes'" in output, output
    timeout = write(tmp_path, "timeout.toml", '[limits]\ntimeout_seconds = "5"\n')
    code, output = run("policy", "validate", timeout)
    assert code == 2 and "limits.timeout_seconds" in output, output
    whole = write(tmp_path, "whole.toml", "[limits]\ntimeout_seconds = 5\n")
    assert run("policy", "validate", whole)[0] == 0  # an integer is a number of seconds


def test_every_file_is_validated(tmp_path: Path) -> None:
    first = write(tmp_path, "first.toml", "[limits]\nmemory_mb = 'lots'\n")
    good = write(tmp_path, "good.toml", "")
    last = write(tmp_path, "last.toml", "[oops]\nx = 1\n")
    code, output = run("policy", "validate", first, good, last)
    assert code == 2
    assert "first.toml: limits.memory_mb" in output and "last.toml: oops" in output, output
    assert "good.toml: ok" in output


def test_show_and_validate_name_what_a_policy_opens(tmp_path: Path) -> None:
    opened = write(tmp_path, "open.toml", "[sandbox]\nnetwork = true\n")
    code, output = run("policy", "show", opened)
    assert code == 0 and "warning: snippets may open network connections" in output, output
    code, output = run("policy", "validate", opened)
    assert code == 0 and "network" in output
    assert "warning" not in run("policy", "show", "default")[1]


def test_a_module_that_cannot_be_imported_is_named(tmp_path: Path) -> None:
    policy = write(tmp_path, "missing.toml",
                   '[imports]\nallow = { add = ["codeact_no_such_module"] }\n')
    code, output = run("policy", "validate", policy)
    assert code == 0 and "'codeact_no_such_module' cannot be imported here" in output, output
    code, output = run("run", "-", "--tools", "examples.toolsets.users", "--policy", policy,
                       stdin="print(1)\n")
    assert code == 2, output
    assert "codeact_no_such_module" in output and "imports.allow" in output, output
    assert "isolation" not in output  # not advice about the kernel filter


def test_policy_diff_flags_widening_and_speaks_json(tmp_path: Path) -> None:
    code, output = run("policy", "diff", "default", "strict")
    assert code == 0 and "none widens what a snippet may do" in output
    code, output = run("policy", "diff", "strict", "default", "--fail-on-widening")
    assert code == 1 and "+ WIDENS" in output
    data = json.loads(run("policy", "diff", "strict", "default", "--format", "json")[1])
    assert data["schema"] == "codeact.policy-diff/v1" and data["widens"] is True
    same = tmp_path / "same.toml"
    same.write_text('extends = "default"\nname = "copy"\n')
    output = run("policy", "diff", "default", str(same))[1]
    digests = [line.split()[-1] for line in output.splitlines()[:2]]
    assert digests[0] == digests[1] and "none widens" in output  # labels only


def test_policy_test_exits_by_the_verdicts(tmp_path: Path) -> None:
    code, output = run("policy", "test", "policies/tests/default.toml")
    assert code == 0, output
    cases = tmp_path / "cases.toml"
    cases.write_text('policy = "default"\n[[case]]\nname = "os"\nsource = "import os"\n'
                     'expect = "ok"\n')
    code, output = run("policy", "test", str(cases))
    assert code == 1 and "FAILED" in output and "P101" in output
    code, output = run("policy", "test", str(cases), "--format", "junit")
    assert code == 1 and "<failure" in output
    cases.write_text('[[case]]\nname = "x"\nsource = "1"\nexpect = "maybe"\n')
    code, output = run("policy", "test", str(cases))
    assert code == 2 and "expect" in output

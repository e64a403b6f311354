"""The command line reads `[tool.codeact]` and the environment; flags win. Directory
arguments expand to their snippets; `--independent` checks or runs each file on its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app

runner = CliRunner()

TOOLS = '''
from engine import tool

@tool
def shelf_price(sku: str) -> int:
    """Price of an item, in cents."""
    return {"apple": 120, "pear": 95}.get(sku, 0)
'''

PROJECT = '''
[project]
name = "shop"

[tool.codeact]
tools = "agent/shop_tools.py"
policy = "policies/team.toml"
format = "json"
'''

TEAM_POLICY = '''
name = "team"
extends = "default"
[imports]
allow = { add = ["decimal"] }
'''


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    (tmp_path / "agent").mkdir()
    (tmp_path / "agent" / "shop_tools.py").write_text(TOOLS)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "team.toml").write_text(TEAM_POLICY)
    snippets = tmp_path / "snippets"
    (snippets / "more").mkdir(parents=True)
    (snippets / "a.py").write_text("import decimal\ntotal = shelf_price('apple')\n")
    (snippets / "b.py").write_text("print(total + shelf_price('pear'))\n")
    (snippets / "more" / "c.py").write_text("print(decimal.Decimal(total) / 100)\n")
    (snippets / ".hidden").mkdir()
    (snippets / ".hidden" / "skip.py").write_text("this is not python\n")
    (snippets / "notes.txt").write_text("not a snippet\n")
    monkeypatch.chdir(snippets / "more")  # settings are found from a subdirectory too
    monkeypatch.delenv("CODEACT_TOOLS", raising=False)
    monkeypatch.delenv("CODEACT_POLICY", raising=False)
    return tmp_path


def test_pyproject_settings_apply_and_a_directory_is_its_snippets(project: Path) -> None:
    code, output = invoke("check", str(project / "snippets"))
    assert code == 0, output
    files = [Path(f["file"]).relative_to(project).as_posix() for f in json.loads(output)["files"]]
    assert files == ["snippets/a.py", "snippets/b.py", "snippets/more/c.py"]  # json: format

    code, output = invoke("run", str(project / "snippets"))
    assert code == 0, output
    assert [r["stdout"] for r in json.loads(output)["runs"]] == ["", "215\n", "1.2\n"]


def test_environment_wins_over_the_file_and_flags_over_both(project: Path) -> None:
    snippet = str(project / "snippets" / "a.py")
    code, output = invoke("check", snippet, env={"CODEACT_POLICY": "default"})
    assert code == 1 and "P101" in output  # the default policy does not allow decimal
    code, output = invoke("check", snippet, "--policy", str(project / "policies/team.toml"),
                          env={"CODEACT_POLICY": "default"})
    assert code == 0, output
    code, output = invoke("check", snippet, "--format", "text")
    assert code == 0 and not output.lstrip().startswith("{"), output


def test_module_tools_import_from_the_project_root(project: Path) -> None:
    (project / "shop_module_tools.py").write_text(TOOLS)
    (project / "pyproject.toml").write_text(
        PROJECT.replace('"agent/shop_tools.py"', '"shop_module_tools"'))
    code, output = invoke("check", str(project / "snippets" / "a.py"))
    assert code == 0, output


@pytest.mark.parametrize(("table", "message"), [
    ('tool = "x.py"', "tool.codeact.tool: Extra inputs are not permitted"),
    ("format = 3", "tool.codeact.format"),
    ('format = "yaml"', "tool.codeact.format"),
    ("tools = [", "not valid TOML"),
])
def test_a_bad_table_is_a_usage_error_naming_file_and_key(project: Path, table: str,
                                                           message: str) -> None:
    (project / "pyproject.toml").write_text(f"[tool.codeact]\n{table}\n")
    code, output = invoke("check", str(project / "snippets" / "a.py"))
    assert code == 2
    assert message in output and "pyproject.toml" in output


def test_independent_files_do_not_share_names(project: Path) -> None:
    files = [str(project / "snippets" / name) for name in ("a.py", "b.py")]
    code, output = invoke("check", *files)
    assert code == 0, output
    code, output = invoke("check", "--independent", *files)
    assert code == 1
    found = [[d["code"] for d in f["diagnostics"]] for f in json.loads(output)["files"]]
    assert found == [[], ["P110"]]
    code, output = invoke("run", "--independent", *files)
    assert code == 1
    assert [r["ok"] for r in json.loads(output)["runs"]] == [True, False]


def test_a_directory_without_snippets_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, output = invoke("check", str(tmp_path / "empty"))
    assert code == 2 and "no .py files" in output

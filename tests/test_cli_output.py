"""What the `codeact` command prints of data is the data: rich styles only the engine's own
text, and never reads markup or emoji codes in a snippet's output, values, source lines, file
names or error messages."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import run

USERS = ["--tools", "examples.toolsets.users"]
def test_snippet_output_is_printed_as_it_is() -> None:
    code, output = run("run", "-", *USERS,
                       stdin='print("a:b:c", "score:100:ok", "[bold]x[/bold]", ":smile:")\n')
    assert code == 0, output
    assert 'a:b:c score:100:ok [bold]x[/bold] :smile:\n' in output


def test_json_values_are_byte_exact() -> None:
    code, output = run("run", "-", *USERS, "--format", "json",
                       stdin='final_answer({"key": "a:b:c", "face": ":smile:", "m": "[red]"})\n')
    assert code == 0, output
    [item] = json.loads(output)["runs"]
    assert item["value"] == {"key": "a:b:c", "face": ":smile:", "m": "[red]"}


def test_text_values_and_source_lines_are_not_rendered() -> None:
    code, output = run("run", "-", *USERS, stdin='final_answer("a:b:c :smile: [dim]")\n')
    assert code == 0 and '"a:b:c :smile: [dim]"' in output, output
    code, output = run("check", "-", *USERS, stdin='import os  # :smile: [b]x[/b]\n')
    assert code == 1
    assert "import os  # :smile: [b]x[/b]" in output, output


def test_check_json_and_sarif_are_byte_exact() -> None:
    source = 'import os  # :smile: [b]x[/b]\n'
    for fmt in ("json", "sarif"):
        code, output = run("check", "-", *USERS, "--format", fmt, stdin=source)
        assert code == 1
        assert "import os  # :smile: [b]x[/b]" in json.dumps(json.loads(output)), output


def test_error_messages_keep_their_brackets(tmp_path: Path) -> None:
    missing = tmp_path / "nofile[x].py"
    code, output = run("check", str(missing), *USERS)
    assert code == 2 and "nofile[x].py" in output, output


def test_no_tools_loaded_is_said_plainly() -> None:
    code, output = run("check", "-", "--format", "json", stdin="users = get_all_users()\n")
    assert code == 1
    [d] = json.loads(output)["files"][0]["diagnostics"]
    assert d["code"] == "P110" and "no tools are loaded" in d["hint"] and "--tools" in d["hint"]

"""What a newcomer meets first: the command's entry points, a clear error for a bad path, and
the repository's own guide to its examples and its licence (issue 15)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from engine import __version__
from engine.cli import app

ROOT = Path(__file__).resolve().parent.parent


def test_python_dash_m_engine_and_short_version() -> None:
    done = subprocess.run([sys.executable, "-m", "engine", "-V"], capture_output=True,
                          text=True, cwd=ROOT, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.strip() == f"codeact-engine {__version__}"


def test_a_transcript_in_a_missing_directory_is_refused_before_the_run(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "run.jsonl"
    result = CliRunner().invoke(app, ["agent", "count the users", "--tools",
                                      "examples.toolsets.users", "--transcript", str(target)])
    assert result.exit_code == 2, result.output
    assert "does not exist" in result.output and "Traceback" not in result.output


def test_examples_readme_names_every_toolset_and_snippet() -> None:
    guide = (ROOT / "examples" / "README.md").read_text()
    for path in [*(ROOT / "examples" / "toolsets").glob("*.py"),
                 *(ROOT / "examples" / "snippets").glob("*.py"),
                 *(ROOT / "examples").glob("*.py")]:
        if path.stem != "__init__":
            assert (f"`{path.stem}`" in guide or f"`{path.name}`" in guide), path


def test_the_licence_is_in_the_repository() -> None:
    assert "MIT License" in (ROOT / "LICENSE").read_text()


def test_ci_fails_instead_of_skipping_the_sandbox_tests(tmp_path: Path) -> None:
    plugin = tmp_path / "no_seccomp_here.py"
    plugin.write_text("import engine.sandbox.limits as limits\n"
                      "limits.unavailable_reason = lambda: 'simulated: no seccomp'\n")
    env = {**os.environ, "CODEACT_REQUIRE_SANDBOX": "1",
           "PYTHONPATH": f"{tmp_path}:{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no_seccomp_here", "-p",
         "no:cacheprovider", "tests/test_newcomer.py::test_the_licence_is_in_the_repository"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "simulated: no seccomp" in done.stdout + done.stderr


def test_help_is_plain_text_when_piped() -> None:
    for args in (["--help"], ["run", "--help"], ["policy", "--help"]):
        done = subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True,
                              text=True, cwd=ROOT, timeout=60, check=False)
        assert done.returncode == 0 and "Usage:" in done.stdout
        assert not set("╭╮╰╯│─") & set(done.stdout), done.stdout

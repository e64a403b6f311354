"""A check worker's process started before its engine exists (engine.checkpool.prestart).

`codeact check` starts one first thing, so that the worker's imports overlap the command's:
the pool that next needs a worker must take that one, and one nobody takes must not outlive
the command.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine import Engine, load_tools
from engine.checkpool import close_unused_pools
from engine.checkspawn import _PRESTARTED, cancel_prestarted, prestart
from engine.cli import _bundled_policy_names, _command
from engine.policy.model import bundled_policy_names

ROOT = Path(__file__).resolve().parent.parent


def test_the_next_pool_takes_the_prestarted_worker() -> None:
    cancel_prestarted()
    prestart()
    [worker] = _PRESTARTED
    # A toolset and policy no other test's pool has, so that this pool starts a worker.
    engine = Engine(load_tools("examples.toolsets.orders"), "strict")
    try:
        report = engine.check("ids = list_customer_ids()\nprint(len(ids))")
        assert report.ok, report.diagnostics
        assert not _PRESTARTED
        pool = engine._checks()
        assert [w.process.pid for w in pool._idle] == [worker.process.pid]
    finally:
        engine.close()
        close_unused_pools()
    assert worker.process.poll() is not None


def test_one_nobody_takes_is_killed_and_leaves_nothing() -> None:
    cancel_prestarted()
    prestart(types=False)
    [worker] = _PRESTARTED
    cancel_prestarted()
    assert not _PRESTARTED
    assert worker.process.poll() is not None
    assert not worker.workdir.exists()


def test_the_command_line_loads_nothing_heavy_before_check_starts_its_worker() -> None:
    # What `codeact check` imports before it calls prestart: the command line's module.
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, engine.cli; print(*sorted(sys.modules))"],
        capture_output=True, text=True, check=True).stdout.split()
    assert not [m for m in loaded if m.split(".")[0] in ("pydantic", "libcst", "mypy")]


def test_the_engines_own_process_does_not_load_the_parser_or_the_checker() -> None:
    # The engine only sends snippets to check workers; the worker parses and checks. The
    # parser (LibCST, ~0.15 s to import) and mypy would be a cold command's wasted time.
    loaded = subprocess.run(
        [sys.executable, "-c",
         "import sys, engine.cli, engine.pipeline, engine.checkpool, engine.session\n"
         "from engine import Engine\n"
         "print(*sorted(sys.modules))"],
        capture_output=True, text=True, check=True).stdout.split()
    assert not [m for m in loaded if m.split(".")[0] in ("libcst", "mypy")]


def test_the_help_names_the_bundled_policies() -> None:
    assert _bundled_policy_names() == bundled_policy_names()


def test_codeact_check_starts_its_worker_first(tmp_path: Path) -> None:
    snippet = tmp_path / "s.py"
    snippet.write_text("users = get_all_users()\nprint(len(users))\n")
    done = subprocess.run(
        [sys.executable, "-c", "import sys, engine.cli\n"
         "real = engine.cli.prestart\n"
         "def counted(types=True):\n"
         "    print('prestarted', file=sys.stderr); real(types)\n"
         "engine.cli.prestart = counted\n"
         "sys.argv = ['codeact', 'check', '--tools', 'examples.toolsets.users', sys.argv[1]]\n"
         "engine.cli.main()", str(snippet)],
        capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.count("prestarted") == 1
    assert "ok" in done.stdout


def test_which_command_a_command_line_names() -> None:
    assert _command(["--debug", "check", "-t", "x", "a.py"]) == "check"
    assert _command(["-V"]) is None
    assert _command(["run", "check.py"]) == "run"

"""A check worker starts without LibCST, and loads it at the first snippet that needs it.

Most snippets are cleared by the policy screen (``engine.policy.screen``, on CPython's tree)
and never reach LibCST, whose import is about a tenth of a second of a cold `codeact check`.
So the worker imports it only when a snippet is not cleared; that snippet's report must be
the one the full check gives, as if LibCST had been there from the start. Both run in a new
process: this one has long since imported LibCST.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine import load_tools
from engine.catalog import ToolCatalog
from engine.checks import CheckSpec, StaticChecker
from engine.diagnostics import Diagnostic
from engine.policy.context import PolicyContext
from engine.policy.model import Policy
from engine.policy.screen import clears
from engine.results import CheckReport
from engine.snippets import parse_python
from engine.stubs import render_stubs

ROOT = Path(__file__).resolve().parent.parent

#: Snippets the screen leaves to the full check: one it accepts, and one per kind of finding.
NOT_CLEARED = (
    "class A:\n    pass\n",
    "x = ().__class__\n",  # P120
    "import os\n",  # P101
    "y = 'a' * 10 ** 9\n",  # P152
    "s = '{0.x}'.format(1)\n",  # P140
    "def f():\n    return undefined_name\n",  # P110
)

#: What a worker imports before its spec (engine.checkspawn._BOOTSTRAP), then its spec and
#: warm-up check (engine.checkworker.main), then the snippets given as the first argument.
#: This module imports nothing of LibCST's either, so that the worker can use its helpers.
_WORKER = """\
import json, sys
import engine.checks
import engine.typecheck.checker
from engine.checkworker import main

loaded = {"at start": "libcst" in sys.modules}
from tests.test_worker_imports import spec, summary
checker = engine.checks.StaticChecker(spec())
checker.check("x = 1")
loaded["after a cleared snippet"] = "libcst" in sys.modules
reports = [summary(checker.check(source)) for source in json.loads(sys.argv[1])]
loaded["after the others"] = "libcst" in sys.modules
print(json.dumps({"loaded": loaded, "reports": reports}))
"""


def spec() -> CheckSpec:
    registry = load_tools("tests.security.toolset")
    return CheckSpec(policy=Policy.load("default"), tools=ToolCatalog.of(registry),
                     stubs=render_stubs(registry), check_types=False)


def summary(report: CheckReport) -> dict[str, Any]:
    """A report as JSON data, without the stages' durations (which differ run to run)."""
    data = report.model_dump(mode="json", exclude={"stages": {"__all__": {"duration_ms"}}})
    data["bindings"] = [b.name for b in report.bindings]
    return data


def _context(checked: CheckSpec) -> PolicyContext:
    return PolicyContext(checked.policy, checked.tools,
                         denied_tools=frozenset(checked.denied_tools))


@pytest.fixture(scope="module")
def in_a_new_worker() -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _WORKER, json.dumps(NOT_CLEARED)],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_worker_loads_libcst_at_the_first_snippet_the_screen_does_not_clear(
        in_a_new_worker: dict[str, Any]) -> None:
    assert in_a_new_worker["loaded"] == {
        "at start": False, "after a cleared snippet": False, "after the others": True}


@pytest.mark.parametrize("source", NOT_CLEARED)
def test_the_screen_does_not_clear_these(source: str) -> None:
    tree = parse_python(source)
    assert not isinstance(tree, Diagnostic)
    assert not clears(tree, source, _context(spec()))


def test_their_reports_are_the_full_checks(in_a_new_worker: dict[str, Any]) -> None:
    # Here, not at the top: the worker above imports this module's helpers.
    from engine.parsing import ParsedSnippet, parse_cst
    from engine.policy.check import check_policy

    checked = spec()
    eager = StaticChecker(checked)  # in this process, where LibCST is long loaded
    ctx = _context(checked)
    for source, lazy in zip(NOT_CLEARED, in_a_new_worker["reports"], strict=True):
        report = eager.check(source)
        assert lazy == summary(report), source
        parsed = parse_cst(source)
        assert isinstance(parsed, ParsedSnippet)
        assert list(report.diagnostics) == check_policy(parsed, ctx), source
    refused = [r["diagnostics"][0]["code"] for r in in_a_new_worker["reports"][1:]]
    assert refused == ["P120", "P101", "P152", "P140", "P110"]
    assert in_a_new_worker["reports"][0]["ok"]
    assert in_a_new_worker["reports"][0]["bindings"] == ["A"]

"""Shared fixtures: engines are expensive to warm (mypy), so they live per test session."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator

import pytest

from engine import CheckReport, Engine, Policy, load_tools
from engine.diagnostics import Diagnostic

# The type cache goes to a directory of this run, never the user's. Set at import, before
# any engine or check worker starts; processes the tests start inherit it (and one that
# imports this module again keeps it: the run that made it removes it).
_TEST_CACHE_PREFIX = "codeact-test-cache-"
_TYPE_CACHE: str | None = None
if not os.path.basename(os.environ.get("CODEACT_CACHE_DIR", "")).startswith(_TEST_CACHE_PREFIX):
    _TYPE_CACHE = tempfile.mkdtemp(prefix=_TEST_CACHE_PREFIX)
    os.environ["CODEACT_CACHE_DIR"] = _TYPE_CACHE
os.environ.pop("CODEACT_NO_CACHE", None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _TYPE_CACHE is not None:
        shutil.rmtree(_TYPE_CACHE, ignore_errors=True)


def pytest_sessionstart(session: pytest.Session) -> None:
    """With CODEACT_REQUIRE_SANDBOX=1 (CI sets it) a machine where the kernel sandbox cannot
    run fails the run instead of skipping the kernel, corpus and soak tests."""
    if os.environ.get("CODEACT_REQUIRE_SANDBOX") == "1":
        from engine.sandbox.limits import unavailable_reason

        reason = unavailable_reason()
        if reason is not None:
            pytest.exit(f"CODEACT_REQUIRE_SANDBOX=1, but the sandbox cannot run here: {reason}",
                        returncode=3)


@pytest.fixture(scope="session")
def users_engine() -> Iterator[Engine]:
    engine = Engine(load_tools("examples.toolsets.users"), Policy.load("default"))
    engine.warm_up()
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def company_engine() -> Iterator[Engine]:
    engine = Engine(load_tools("examples.toolsets.company"), Policy.load("default"))
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def policy_only() -> Iterator[Engine]:
    """The users toolset under the default policy, without the type stage (fast)."""
    engine = Engine(load_tools("examples.toolsets.users"), "default", check_types=False)
    yield engine
    engine.close()


def codes_of(report: CheckReport) -> list[str]:
    return [d.code for d in report.diagnostics]


def only(report: CheckReport, code: str) -> Diagnostic:
    found = [d for d in report.diagnostics if d.code == code]
    assert found, f"expected {code}, got {[(d.code, d.message) for d in report.diagnostics]}"
    return found[0]


CheckFn = Callable[[str], CheckReport]

"""One engine holds many live sessions at once: descriptors above 1024 are waited on with
poll(), which select() could not watch ("filedescriptor out of range in select()")."""

from __future__ import annotations

import os
import resource

import pytest

from engine import Engine, ToolRegistry, tool
from engine.sandbox.limits import unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason="seccomp unavailable")

SESSIONS = 600


@tool
def double(x: int) -> int:
    """Twice x."""
    return 2 * x


def test_six_hundred_sessions_live_at_once() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = SESSIONS * 4 + 256
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is below {needed}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    engine = Engine(ToolRegistry([double]), "default", check_types=False)
    sessions = []
    try:
        for i in range(SESSIONS):
            session = engine.session()
            sessions.append(session)
            assert session.run(f"mine = double({i})").ok
        assert max(int(fd) for fd in os.listdir("/proc/self/fd")) > 1024
        # Every session still holds its own state, the newest (highest descriptors) too.
        for i in (0, SESSIONS // 2, SESSIONS - 1):
            result = sessions[i].run("final_answer(mine + double(1))")
            assert result.ok and result.value == 2 * i + 2, result.diagnostics
    finally:
        for session in sessions:
            session.close()
        engine.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

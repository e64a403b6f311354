"""Mistakes on the trusted side (tools, policies) give structured errors, never a crash."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from engine import Engine, Policy, PolicyError, ToolDefinitionError, tool
from engine.sandbox.limits import unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason="seccomp unavailable")


@tool
def wrong_type() -> int:
    """Declares int, returns text."""
    return "not a number"  # type: ignore[return-value]


@tool
def not_data() -> object:
    """Returns something that is not data."""
    return socket.socket()


@tool
def fine() -> int:
    return 1


def test_tool_returning_the_wrong_type() -> None:
    engine = Engine([wrong_type, not_data, fine], check_types=False)
    try:
        with engine.session() as session:
            wrong = session.run("wrong_type()")
            [d] = wrong.diagnostics
            assert d.code == "R104" and "does not match its declared return type" in d.message
            odd = session.run("not_data()")
            [d] = odd.diagnostics
            assert d.code == "R102" and "not_data() failed" in d.message
            assert session.run("print(fine())").stdout == "1\n"
    finally:
        engine.close()


def test_tool_definitions_that_cannot_be_offered() -> None:
    def no_annotations(x):  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(ToolDefinitionError, match="has no type annotation"):
        Engine([no_annotations])


@pytest.mark.parametrize(("text", "key"), [
    ("[limits]\ntimeout_seconds = -1\n", "limits.timeout_seconds"),
    ("[sandbox]\nfilesystem = 'read-write'\n", "sandbox.filesystem"),
    ("[sandbox]\nnetwork = 'yes please'\n", "sandbox.network"),
    ("[builtins]\nallow = 'open'\n", "builtins.allow"),
])
def test_malformed_policies_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as info:
        Policy.load(path)
    assert [i.key for i in info.value.issues] == [key]
    assert info.value.issues[0].source == str(path)

"""The MCP server, driven by the MCP SDK's own client over stdio and over streamable HTTP."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from typer.testing import CliRunner

from engine import Engine, Policy, load_tools
from engine.cli import app
from engine.mcp_server import SessionPool, build_server, http_app

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-token-0123456789"
POLICY = """
extends = "default"
[limits]
timeout_seconds = 1.0
cpu_seconds = 1.0
"""


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mcp") / "policy.toml"
    path.write_text(POLICY)
    return path


def structured(result: Any) -> dict[str, Any]:
    assert result.structured_content is not None
    return dict(result.structured_content)


async def exercise(session: ClientSession) -> None:
    """What every transport must do: list, run, refuse, type-check, time out, keep state."""
    tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == {"run", "check", "close_session", "list_sessions"}
    run_tool = tools["run"]
    assert "def get_all_users() -> list[User]:" in (run_tool.description or "")
    assert run_tool.output_schema is not None
    assert {"ok", "stdout", "value", "diagnostics"} <= set(run_tool.output_schema["properties"])

    good = await session.call_tool("run", {"code": "n = len(get_all_users())\nprint(n)"})
    assert not good.is_error
    assert structured(good)["stdout"] == "10000\n"

    state = await session.call_tool("run", {"code": "final_answer(n * 2)"})
    assert structured(state)["value"] == 20000 and structured(state)["final"] is True

    forbidden = await session.call_tool("run", {"code": "import os"})
    assert forbidden.is_error
    [d] = structured(forbidden)["diagnostics"]
    assert (d["stage"], d["code"], d["line"], d["column"]) == ("policy", "P101", 1, 8)
    assert d["hint"] and structured(forbidden)["executed"] is False

    typed = await session.call_tool("run", {"code": "deactivate('x')"})
    assert typed.is_error and structured(typed)["diagnostics"][0]["code"] == "T101"

    checked = await session.call_tool("check", {"code": "print(n + 1)"})
    assert not checked.is_error and structured(checked)["ok"] is True

    slow = await session.call_tool("run", {"code": "while True:\n    pass"})
    assert slow.is_error
    assert structured(slow)["diagnostics"][0]["code"] in ("R201", "R203")
    after = await session.call_tool("run", {"code": "print(n)"})
    assert structured(after)["stdout"] == "10000\n"  # state survived the kill (replayed)

    other = await session.call_tool("run", {"code": "print(n)", "session": "other"})
    assert other.is_error and structured(other)["diagnostics"][0]["code"] == "P110"
    listed = await session.call_tool("list_sessions", {})
    assert structured(listed)["sessions"] == ["default", "other"]
    closed = await session.call_tool("close_session", {"session": "other"})
    assert structured(closed)["closed"] is True

    stubs = await session.read_resource("codeact://stubs")
    assert "class User(BaseModel):" in stubs.contents[0].text  # type: ignore[union-attr]
    rules = await session.read_resource("codeact://rules")
    assert "You cannot access the network." in rules.contents[0].text  # type: ignore[union-attr]


def test_stdio(policy_file: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "engine.cli", "mcp", "--tools", "examples.toolsets.users", "--policy",
              str(policy_file)],
        cwd=str(ROOT),
    )

    async def main() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await exercise(session)

    anyio.run(main)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def http_server(policy_file: Path) -> Iterator[str]:
    engine = Engine(load_tools("examples.toolsets.users"), Policy.load(policy_file))
    server, pool = build_server(engine)
    port = _free_port()
    config = uvicorn.Config(http_app(server, host="127.0.0.1", token=TOKEN), host="127.0.0.1",
                            port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    while not uv.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/mcp"
    uv.should_exit = True
    thread.join(10)
    pool.close_all()
    engine.close()


@asynccontextmanager
async def http_session(url: str, token: str = TOKEN) -> AsyncIterator[ClientSession]:
    async with (httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                                   timeout=30) as http,
                streamable_http_client(url, http_client=http) as (read, write),
                ClientSession(read, write) as session):
        await session.initialize()
        yield session


def test_http(http_server: str) -> None:
    async def main() -> None:
        async with http_session(http_server) as session:
            await exercise(session)

    anyio.run(main)


def test_http_clients_cannot_see_each_other(http_server: str) -> None:
    async def main() -> None:
        async with http_session(http_server) as alice, http_session(http_server) as bob:
            await alice.call_tool("run", {"code": "secret = 'alice'"})
            peek = await bob.call_tool("run", {"code": "print(secret)"})
            assert peek.is_error and structured(peek)["diagnostics"][0]["code"] == "P110"
            mine = await alice.call_tool("run", {"code": "print(secret)"})
            assert structured(mine)["stdout"] == "alice\n"
            assert structured(await bob.call_tool("list_sessions", {}))["sessions"] == \
                ["default"]

    anyio.run(main)


def test_concurrent_calls_do_not_corrupt_a_session(http_server: str) -> None:
    async def main() -> None:
        async with http_session(http_server) as session:
            await session.call_tool("run", {"code": "count = 0", "session": "c"})

            async def bump() -> None:
                result = await session.call_tool(
                    "run", {"code": "before = count\ncount = before + 1", "session": "c"})
                assert not result.is_error

            async with anyio.create_task_group() as group:
                for _ in range(8):
                    group.start_soon(bump)
            final = await session.call_tool("run", {"code": "print(count)", "session": "c"})
            assert structured(final)["stdout"] == "8\n"

    anyio.run(main)


def test_http_requires_the_token(http_server: str) -> None:
    async def main() -> None:
        async with httpx2.AsyncClient() as http:
            response = await http.post(http_server, json={},
                                       headers={"accept": "application/json, text/event-stream"})
            assert response.status_code == 401
        with pytest.raises(Exception):  # noqa: B017 - the SDK wraps the 401 its own way
            async with http_session(http_server, token="wrong") as session:
                await session.list_tools()

    anyio.run(main)


def test_refuses_to_bind_beyond_loopback_without_token() -> None:
    engine = Engine(load_tools("examples.toolsets.users"))
    server, pool = build_server(engine)
    try:
        with pytest.raises(ValueError, match="without a bearer token"):
            http_app(server, host="0.0.0.0", token=None)
        assert http_app(server, host="0.0.0.0", token=TOKEN) is not None
    finally:
        pool.close_all()
        engine.close()
    result = CliRunner().invoke(app, ["mcp", "--tools", "examples.toolsets.users",
                                      "--transport", "http", "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "without a bearer token" in result.output


def test_idle_sessions_are_reaped() -> None:
    engine = Engine(load_tools("examples.toolsets.users"), check_types=False)
    pool = SessionPool(engine, idle_seconds=0.2)
    try:
        session = pool.get("client", "s")
        assert session.run("x = 1").ok
        assert pool.names("client") == ["s"]
        deadline = time.monotonic() + 5
        while pool.names("client") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool.names("client") == [] and session.closed
    finally:
        pool.close_all()
        engine.close()

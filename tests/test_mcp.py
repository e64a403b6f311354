"""The MCP server, driven by the MCP SDK's own client over stdio and over streamable HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from typer.testing import CliRunner

from engine import Engine, Policy, load_tools
from engine.cli import app
from engine.mcp_server import SessionPool, TenantLimits, build_server, http_app
from engine.testing.asgi import serve_on_loopback

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-token-0123456789"
TENANTS = {"alice": "alice-token-0123456789", "bob": "bob-token-0123456789"}
POLICY = """
extends = "default"
[limits]
timeout_seconds = 1.0
cpu_seconds = 1.0
check_seconds = 1.0
"""
#: Legal under the default policy, and minutes of mypy inference: a check that must be stopped.
COSTLY = ("x = list(map(lambda a: list(map(lambda b: list(map(lambda c: list(map(lambda d: "
          "list(map(lambda e: e, d)), c)), b)), a)), [[[[[1]]]]]))")


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mcp") / "policy.toml"
    path.write_text(POLICY)
    return path


def structured(result: Any) -> dict[str, Any]:
    assert result.structured_content is not None
    return dict(result.structured_content)


def text(result: Any) -> str:
    [content] = result.content
    return str(content.text)


async def exercise(session: ClientSession) -> None:
    """What every transport must do: list, run, refuse, type-check, time out, keep state."""
    tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == {"run", "check", "open_session", "close_session", "list_sessions"}
    run_tool = tools["run"]
    assert "def get_all_users() -> list[User]:" in (run_tool.description or "")
    assert run_tool.output_schema is not None
    assert {"ok", "stdout", "value", "diagnostics"} <= set(run_tool.output_schema["properties"])

    good = await session.call_tool("run", {"code": "n = len(get_all_users())\nprint(n)"})
    assert not good.is_error
    assert structured(good)["stdout"] == "10000\n"

    state = await session.call_tool("run", {"code": "final_answer(n * 2)"})
    assert structured(state)["value"] == 20000 and structured(state)["final"] is True
    # As text, what a model should read: the agent loop's compact observation, not JSON.
    assert text(good) == "Your code ran.\nOutput:\n10000"
    assert text(state) == "Your code ran.\nValue: 20000"

    forbidden = await session.call_tool("run", {"code": "import os"})
    assert forbidden.is_error
    [d] = structured(forbidden)["diagnostics"]
    assert (d["stage"], d["code"], d["line"], d["column"]) == ("policy", "P101", 1, 8)
    assert d["hint"] and structured(forbidden)["executed"] is False
    assert text(forbidden).startswith("Your code was not run: the policy check found 1 ")
    assert "[policy P101] line 1:8:" in text(forbidden) and "  > import os" in text(forbidden)

    typed = await session.call_tool("run", {"code": "deactivate('x')"})
    assert typed.is_error and structured(typed)["diagnostics"][0]["code"] == "T101"

    checked = await session.call_tool("check", {"code": "print(n + 1)"})
    assert not checked.is_error and structured(checked)["ok"] is True
    assert text(checked) == "Your code passes every check; it was not run."

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


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]], ids=["in-process", "workers"])
def test_stdio(policy_file: Path, workers: list[str]) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "engine.cli", "mcp", "--tools", "examples.toolsets.users", "--policy",
              str(policy_file), *workers],
        cwd=str(ROOT),
    )

    async def main() -> None:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            await exercise(session)
            if workers:  # the sessions really live in worker processes of this server
                assert len(pool_workers(str(policy_file))) == 2

    anyio.run(main)


def pool_workers(server_mark: str) -> list[int]:
    """Pool workers whose parent is the server started with ``server_mark`` in its command
    line (other processes on the machine may run pools of their own)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes()
            if b"from engine.workers import serve" not in command:
                continue
            parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            if server_mark.encode() in Path(f"/proc/{parent}/cmdline").read_bytes():
                found.append(int(entry.name))
        except (OSError, IndexError):
            continue
    return found


@pytest.fixture(scope="module")
def http_server(policy_file: Path) -> Iterator[str]:
    engine = Engine(load_tools("examples.toolsets.users"), Policy.load(policy_file),
                    check_workers=3)
    engine.warm_up(all_workers=True)
    server, pool = build_server(engine, limits=TenantLimits(max_sessions=4, max_concurrent=2))
    app = http_app(server, host="127.0.0.1", token=TOKEN, tenants=TENANTS)
    try:
        with serve_on_loopback(app) as base:
            yield f"{base}/mcp"
    finally:
        pool.close_all()
        engine.close()


@asynccontextmanager
async def http_session(url: str, token: str = TOKEN,
                       headers: dict[str, str] | None = None) -> AsyncIterator[ClientSession]:
    async with (httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}", **(headers or {})},
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


def test_tenants_are_their_tokens(http_server: str) -> None:
    async def main() -> None:
        async with (http_session(http_server, TENANTS["alice"]) as alice,
                    http_session(http_server, TENANTS["bob"]) as bob):
            await alice.call_tool("run", {"code": "secret = 'alice'", "session": "t1"})
            peek = await bob.call_tool("run", {"code": "print(secret)", "session": "t1"})
            assert peek.is_error and structured(peek)["diagnostics"][0]["code"] == "P110"
            mine = await alice.call_tool("run", {"code": "print(secret)", "session": "t1"})
            assert structured(mine)["stdout"] == "alice\n"
            assert "t1" in structured(await alice.call_tool("list_sessions", {}))["sessions"]
            assert "t1" in structured(await bob.call_tool("list_sessions", {}))["sessions"]
            closed = await bob.call_tool("close_session", {"session": "t1"})
            assert structured(closed)["closed"] is True  # bob's own t1, not alice's
            again = await alice.call_tool("run", {"code": "print(secret)", "session": "t1"})
            assert structured(again)["stdout"] == "alice\n"
            await alice.call_tool("close_session", {"session": "t1"})

    anyio.run(main)


async def _raw_call(url: str, token: str, session_id: str, code: str, name: str,
                    extra: dict[str, str]) -> dict[str, Any]:
    """A tools/call sent by hand, with whatever headers a hostile client likes."""
    headers = {"Authorization": f"Bearer {token}", "mcp-session-id": session_id,
               "accept": "application/json, text/event-stream",
               "mcp-protocol-version": "2025-06-18", **extra}
    request = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
               "params": {"name": "run", "arguments": {"code": code, "session": name}}}
    async with httpx2.AsyncClient(timeout=30) as http:
        response = await http.post(url, json=request, headers=headers)
    assert response.status_code == 200, response.text
    body = response.text
    if "data:" in body:
        body = next(line[5:] for line in body.splitlines() if line.startswith("data:"))
    return dict(json.loads(body)["result"])


def test_a_client_cannot_claim_another_tenant(http_server: str) -> None:
    seen: list[str] = []

    async def remember(response: httpx2.Response) -> None:
        if response.headers.get("mcp-session-id"):
            seen.append(response.headers["mcp-session-id"])

    async def main() -> None:
        async with (httpx2.AsyncClient(headers={"Authorization": f"Bearer {TENANTS['alice']}"},
                                       timeout=30,
                                       event_hooks={"response": [remember]}) as http,
                    streamable_http_client(http_server, http_client=http) as (read, write),
                    ClientSession(read, write) as alice):
            await alice.initialize()
            await alice.call_tool("run", {"code": "secret = 'alice'", "session": "t2"})
            assert seen, "the server issued no MCP session id"
            # bob presents alice's MCP session id and claims alice's tenant in a header
            for claim in ("alice", "0" * 32 + ":alice"):
                result = await _raw_call(http_server, TENANTS["bob"], seen[-1],
                                         "print(secret)", "t2", {"x-codeact-tenant": claim})
                assert result["isError"], result
                assert result["structuredContent"]["diagnostics"][0]["code"] == "P110"
            mine = await alice.call_tool("run", {"code": "print(secret)", "session": "t2"})
            assert structured(mine)["stdout"] == "alice\n"
            await alice.call_tool("close_session", {"session": "t2"})
        async with http_session(http_server, TENANTS["bob"]) as bob:
            await bob.call_tool("close_session", {"session": "t2"})

    anyio.run(main)


def test_session_keys_are_issued_and_private(http_server: str) -> None:
    async def main() -> None:
        async with (http_session(http_server, TENANTS["alice"]) as alice,
                    http_session(http_server, TENANTS["alice"]) as alice2,
                    http_session(http_server, TENANTS["bob"]) as bob):
            key = structured(await alice.call_tool("open_session", {}))["session"]
            assert key.startswith("key-") and len(key) > 20
            await alice.call_tool("run", {"code": "secret = 'k'", "session": key})
            stolen = await bob.call_tool("run", {"code": "print(secret)", "session": key})
            assert stolen.is_error and "no session" in stolen.content[0].text  # type: ignore[union-attr]
            guessed = await alice.call_tool("run", {"code": "x = 1", "session": "key-guess"})
            assert guessed.is_error  # keys are never created by naming them
            shared = await alice2.call_tool("run", {"code": "print(secret)", "session": key})
            assert structured(shared)["stdout"] == "k\n"  # its holder, same tenant
            listed = structured(await alice.call_tool("list_sessions", {}))["sessions"]
            assert key not in listed
            assert structured(await alice.call_tool("close_session", {"session": key}))["closed"]

    anyio.run(main)


def test_session_quota_is_per_tenant(http_server: str) -> None:
    async def main() -> None:
        async with (http_session(http_server, TENANTS["alice"]) as alice,
                    http_session(http_server, TENANTS["bob"]) as bob):
            await bob.call_tool("run", {"code": "mine = 1", "session": "keep"})
            names = [f"q{i}" for i in range(4)]
            for name in names:
                assert not (await alice.call_tool("run", {"code": "x = 1", "session": name})
                            ).is_error
            over = await alice.call_tool("run", {"code": "x = 1", "session": "q4"})
            assert over.is_error and "limit" in over.content[0].text  # type: ignore[union-attr]
            kept = await bob.call_tool("run", {"code": "print(mine)", "session": "keep"})
            assert structured(kept)["stdout"] == "1\n"  # alice's use evicted nothing of bob's
            for name in [*names, "keep"]:
                await alice.call_tool("close_session", {"session": name})
            await bob.call_tool("close_session", {"session": "keep"})

    anyio.run(main)


def test_a_costly_check_does_not_hold_up_another_tenant(http_server: str) -> None:
    order: list[str] = []

    async def main() -> None:
        async with (http_session(http_server, TENANTS["alice"]) as alice,
                    http_session(http_server, TENANTS["bob"]) as bob):
            await bob.call_tool("run", {"code": "n = 0", "session": "w"})

            async def hostile() -> None:
                result = await alice.call_tool("check", {"code": COSTLY, "session": "h"})
                assert structured(result)["diagnostics"][0]["code"] == "T197"
                order.append("alice")

            async def honest() -> None:
                for _ in range(5):
                    result = await bob.call_tool("run", {"code": "n = n + 1", "session": "w"})
                    assert not result.is_error
                order.append("bob")

            async with anyio.create_task_group() as group:
                group.start_soon(hostile)
                await anyio.sleep(0.1)
                group.start_soon(honest)
            final = await bob.call_tool("run", {"code": "print(n)", "session": "w"})
            assert structured(final)["stdout"] == "5\n"
            await alice.call_tool("close_session", {"session": "h"})
            await bob.call_tool("close_session", {"session": "w"})

    anyio.run(main)
    assert order == ["bob", "alice"]  # bob's five calls finished while alice's check ran


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
    now = [0.0]
    pool = SessionPool(engine, idle_seconds=600, clock=lambda: now[0])
    try:
        session = pool.get("client", "s")
        assert session.run("x = 1").ok
        other = pool.get("other", "s")
        now[0] = 500.0
        pool.touch("other", "s")
        assert pool.names("client") == ["s"]
        now[0] = 700.0
        assert pool.reap() == 1
        assert pool.names("client") == [] and session.closed
        assert pool.names("other") == ["s"] and not other.closed
    finally:
        pool.close_all()
        engine.close()


def test_a_port_in_use_is_refused_before_anything_starts() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["mcp", "--tools", "examples.toolsets.users",
                                          "--transport", "http", "--port", str(port)])
    assert result.exit_code == 2, result.output
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "server on" not in result.output


def test_tools_that_print_at_import_do_not_corrupt_stdio(tmp_path: Path) -> None:
    noisy = tmp_path / "noisy_tools.py"
    noisy.write_text(
        "print('loading the noisy toolset...')\n"
        "from engine import tool\n\n\n"
        "@tool\ndef double(n: int) -> int:\n    \"\"\"Twice n.\"\"\"\n    return 2 * n\n"
    )
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                             "clientInfo": {"name": "test", "version": "0"}}}
    server = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "mcp", "--tools", str(noisy)], cwd=ROOT,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write(json.dumps(initialize) + "\n")
        server.stdin.flush()
        first = server.stdout.readline()  # standard output carries the protocol only
        assert json.loads(first)["id"] == 1, first
    finally:
        server.kill()
        _, errors = server.communicate(timeout=30)
    assert "loading the noisy toolset..." in errors


def test_a_cancelled_call_interrupts_its_snippet() -> None:
    """A client that gives up on a call (its read timeout sends notifications/cancelled)
    stops the snippet: the session is restored at once, not after the snippet's time limit."""
    default = Policy.load("default")
    patient = default.model_copy(update={"limits": default.limits.model_copy(
        update={"timeout_seconds": 120.0, "cpu_seconds": 120.0})})
    engine = Engine(load_tools("examples.toolsets.users"), patient)
    server, pool = build_server(engine)
    app = http_app(server, host="127.0.0.1", token=TOKEN)
    try:
        with serve_on_loopback(app) as base:
            async def main() -> None:
                async with http_session(f"{base}/mcp") as session:
                    await session.call_tool("run", {"code": "kept = 5", "session": "s"})
                    with pytest.raises(Exception, match=r"(?i)timed? ?out"):
                        await session.call_tool("run", {"code": "while True:\n    pass",
                                                        "session": "s"},
                                                read_timeout_seconds=1.0)
                    with anyio.fail_after(60):  # not the 120 s limit
                        after = await session.call_tool("run", {"code": "print(kept)",
                                                                "session": "s"})
                    assert structured(after)["stdout"] == "5\n"

            anyio.run(main)
            hosted = pool.get("default", "s")  # the tenant of TOKEN
            assert hosted.interrupts == 1  # type: ignore[union-attr]
    finally:
        pool.close_all()
        engine.close()

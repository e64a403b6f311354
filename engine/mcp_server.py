"""An MCP server: the engine as a tool that any MCP client's model can use.

Tools: ``run`` (check, then run a snippet in a named session), ``check`` (static stages only),
``close_session``, ``list_sessions``. Resources: the generated tool stubs
(``codeact://stubs``), the policy's plain-language rules (``codeact://rules``) and the policy
itself (``codeact://policy``). The ``run`` tool's description is generated from the same
registry, so the client's model learns what it may call from the tool list alone.

Sessions belong to a client: over stdio the process is the client; over HTTP a client is its
bearer token and its MCP session id (clients of the stateless protocol without a token share
one namespace: give them distinct session names, or a token each). A session's snippets run
one at a time whatever the client sends concurrently; sessions idle for ``idle_seconds`` are
closed. Requires the ``mcp`` extra: ``pip install 'codeact-engine[mcp]'``.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Annotated, Any

import anyio.to_thread
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from engine.diagnostics import Diagnostic
from engine.policy.prompt import render_prompt_rules
from engine.results import RunResult

if TYPE_CHECKING:
    from engine.pipeline import Engine
    from engine.session import Session

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class RunOutput(BaseModel):
    """What ``run`` returns as structured content."""

    ok: bool
    executed: bool = Field(description="False when a static check refused the snippet.")
    session: str
    stdout: str = ""
    value: Any = Field(default=None, description="final_answer(...) or a trailing expression.")
    final: bool = False
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    tool_calls: int = 0
    wall_ms: float = 0.0


class CheckOutput(BaseModel):
    ok: bool
    session: str
    diagnostics: list[Diagnostic] = Field(default_factory=list)


class SessionsOutput(BaseModel):
    sessions: list[str]


class ClosedOutput(BaseModel):
    closed: bool


class SessionPool:
    """Sessions by (client, name), reaped when idle."""

    def __init__(self, engine: Engine, *, idle_seconds: float = 600.0,
                 max_sessions: int = 64) -> None:
        self.engine = engine
        self.idle_seconds = idle_seconds
        self.max_sessions = max_sessions
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, str], tuple[Session, float]] = {}
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap_forever, name="codeact-reaper",
                                        daemon=True)
        self._reaper.start()

    def get(self, client: str, name: str) -> Session:
        with self._lock:
            key = (client, name)
            found = self._sessions.get(key)
            if found is None:
                if len(self._sessions) >= self.max_sessions:
                    oldest = min(self._sessions, key=lambda k: self._sessions[k][1])
                    self._sessions.pop(oldest)[0].close()
                session = self.engine.session()
            else:
                session = found[0]
            self._sessions[key] = (session, time.monotonic())
            return session

    def touch(self, client: str, name: str) -> None:
        with self._lock:
            if (client, name) in self._sessions:
                session, _ = self._sessions[(client, name)]
                self._sessions[(client, name)] = (session, time.monotonic())

    def names(self, client: str) -> list[str]:
        with self._lock:
            return sorted(name for owner, name in self._sessions if owner == client)

    def close(self, client: str, name: str) -> bool:
        with self._lock:
            found = self._sessions.pop((client, name), None)
        if found is None:
            return False
        found[0].close()
        return True

    def reap(self) -> int:
        deadline = time.monotonic() - self.idle_seconds
        with self._lock:
            idle = [k for k, (_, used) in self._sessions.items() if used < deadline]
            closing = [self._sessions.pop(k)[0] for k in idle]
        for session in closing:
            session.close()
        return len(closing)

    def _reap_forever(self) -> None:
        while not self._stop.wait(min(60.0, max(self.idle_seconds / 4, 0.05))):
            self.reap()

    def close_all(self) -> None:
        self._stop.set()
        with self._lock:
            sessions = [s for s, _ in self._sessions.values()]
            self._sessions.clear()
        for session in sessions:
            session.close()


def client_key(ctx: Context[Any, Any]) -> str:
    """Who is calling: the process over stdio; token and MCP session id over HTTP."""
    headers = ctx.headers
    if not headers:
        return "stdio"
    parts = []
    token = headers.get("authorization")
    if token:
        parts.append("token:" + hashlib.sha256(token.encode()).hexdigest()[:16])
    session_id = headers.get("mcp-session-id")
    if session_id:
        parts.append("session:" + session_id)
    return "/".join(parts) or "anonymous"


def _run_output(name: str, result: RunResult) -> RunOutput:
    return RunOutput(ok=result.ok, executed=result.executed, session=name,
                     stdout=result.stdout + result.stderr, value=result.value,
                     final=result.final, diagnostics=list(result.diagnostics),
                     tool_calls=len(result.tool_calls),
                     wall_ms=result.usage.wall_ms if result.usage else 0.0)


def _tool_result(output: BaseModel, is_error: bool) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=output.model_dump_json())],
                          structured_content=output.model_dump(mode="json"), is_error=is_error)


def build_server(engine: Engine, *, idle_seconds: float = 600.0,
                 name: str = "codeact") -> tuple[MCPServer, SessionPool]:
    """The MCP server for an engine, and its session pool (close it when done)."""
    pool = SessionPool(engine, idle_seconds=idle_seconds)
    stubs = engine.prompt_view.strip()
    rules = render_prompt_rules(engine.policy)
    server = MCPServer(name, instructions=(
        "Solve tasks by writing Python snippets for the `run` tool. The snippets call the "
        "tools below, which are already defined; names persist within a session.\n\n"
        f"Rules:\n{rules}"))
    run_description = (
        "Check a Python snippet (syntax, policy, types) and run it in a sandboxed session. "
        "Names a snippet binds stay available to later snippets of the same session. End "
        "with final_answer(value) to return a value. On failure, `diagnostics` say what to "
        "fix (stage, code, line, column, message, hint).\n\n"
        f"Rules:\n{rules}\n\nTools the snippet can call (bodies omitted):\n```python\n"
        f"{stubs}\n```"
    )

    @server.tool(name="run", description=run_description)
    async def run(code: str, ctx: Context[Any, Any],
                  session: str = "default") -> Annotated[CallToolResult, RunOutput]:
        owner = client_key(ctx)
        target = pool.get(owner, session)
        result = await anyio.to_thread.run_sync(target.run, code)
        pool.touch(owner, session)
        return _tool_result(_run_output(session, result), is_error=not result.ok)

    @server.tool(name="check", description=(
        "Check a Python snippet without running it: syntax, policy and types, with the names "
        "the session holds. Returns the diagnostics."))
    async def check(code: str, ctx: Context[Any, Any],
                    session: str = "default") -> Annotated[CallToolResult, CheckOutput]:
        target = pool.get(client_key(ctx), session)
        report = await anyio.to_thread.run_sync(
            lambda: engine.check(code, context=target.context))
        output = CheckOutput(ok=report.ok, session=session, diagnostics=list(report.diagnostics))
        return _tool_result(output, is_error=not report.ok)

    @server.tool(name="close_session", description="Close a session and forget its names.")
    async def close_session(session: str, ctx: Context[Any, Any]) -> ClosedOutput:
        closed = await anyio.to_thread.run_sync(pool.close, client_key(ctx), session)
        return ClosedOutput(closed=closed)

    @server.tool(name="list_sessions", description="The names of this client's open sessions.")
    async def list_sessions(ctx: Context[Any, Any]) -> SessionsOutput:
        return SessionsOutput(sessions=pool.names(client_key(ctx)))

    @server.resource("codeact://stubs", name="stubs", mime_type="text/x-python",
                     description="The tools a snippet can call, as Python stubs.")
    def stubs_resource() -> str:
        return stubs + "\n"

    @server.resource("codeact://rules", name="rules", mime_type="text/plain",
                     description="The policy in plain language.")
    def rules_resource() -> str:
        return rules + "\n"

    @server.resource("codeact://policy", name="policy", mime_type="application/json",
                     description="The resolved policy.")
    def policy_resource() -> str:
        return engine.policy.model_dump_json(indent=2)

    return server, pool


ASGIApp = Callable[[MutableMapping[str, Any], Callable[[], Awaitable[Any]],
                    Callable[[MutableMapping[str, Any]], Awaitable[None]]], Awaitable[None]]


class BearerAuth:
    """Refuses every HTTP request without ``Authorization: Bearer <token>`` (constant time)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: MutableMapping[str, Any],
                       receive: Callable[[], Awaitable[Any]],
                       send: Callable[[MutableMapping[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body", "body": b'{"error":"unauthorized"}'})
                return
        await self.app(scope, receive, send)


def http_app(server: MCPServer, *, host: str, token: str | None) -> ASGIApp:
    """The streamable-HTTP app; refuses to be exposed beyond loopback without a token."""
    if host not in LOOPBACK and not token:
        raise ValueError(f"refusing to listen on {host} without a bearer token "
                         "(--token or CODEACT_MCP_TOKEN)")
    app: ASGIApp = server.streamable_http_app(host=host)
    return BearerAuth(app, token) if token else app

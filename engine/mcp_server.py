"""An MCP server: the engine as a tool that any MCP client's model can use.

Tools: ``run`` (check, then run a snippet in a named session), ``check`` (static stages only),
``open_session``, ``close_session``, ``list_sessions``. Resources: the generated tool stubs
(``codeact://stubs``), the policy's plain-language rules (``codeact://rules``) and the policy
itself (``codeact://policy``). The ``run`` tool's description is generated from the same
registry, so the client's model learns what it may call from the tool list alone.

Sessions belong to a tenant, whom the server identifies itself: over stdio the process; over
HTTP the bearer token it presented (``--tokens FILE`` gives each tenant its own), never a
header or MCP session id the client chose. Each tenant has its own quotas (sessions, calls at
once) and namespace. Within a tenant, ``open_session`` issues unguessable keys for sessions
that only their holder can reach. A session's snippets run one at a time whatever the client
sends concurrently; sessions idle for ``idle_seconds`` are closed. Requires the ``mcp`` extra:
``pip install -e '.[mcp]'`` from a checkout.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.agent.feedback import check_observation, observation
from engine.async_engine import AsyncSession
from engine.diagnostics import Diagnostic
from engine.policy.prompt import render_prompt_rules
from engine.results import AnswerValue, RunResult

if TYPE_CHECKING:
    from engine.pipeline import Engine
    from engine.session import Session
    from engine.workers import PooledSession

    #: A session the server holds: in this process, or on a worker of an EnginePool.
    HostedSession = Session | PooledSession

LOOPBACK = ("127.0.0.1", "localhost", "::1")
_T = TypeVar("_T")


class RunOutput(BaseModel):
    """What ``run`` returns as structured content."""

    ok: bool
    executed: bool = Field(description="False when a static check refused the snippet.")
    session: str
    stdout: str = ""
    value: AnswerValue = Field(default=None,
                               description="final_answer(...) or a trailing expression.")
    final: bool = False
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    tool_calls: int = 0
    wall_ms: float = 0.0
    policy_digest: str = Field(default="", description="The digest of the policy that judged "
                               "and ran the snippet.")


class CheckOutput(BaseModel):
    ok: bool
    session: str
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    policy_digest: str = ""


class SessionsOutput(BaseModel):
    sessions: list[str]


class ClosedOutput(BaseModel):
    closed: bool


class OpenedOutput(BaseModel):
    session: str = Field(description="The new session's key: pass it as `session`.")


#: Limits per tenant; one tenant's use never evicts, queues or slows another's sessions.
class TenantLimits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_sessions: int = Field(default=16, gt=0, description="Open sessions per tenant.")
    max_concurrent: int = Field(default=2, gt=0, description="Calls a tenant runs at once.")
    max_waiting: int = Field(default=16, ge=0, description="Calls a tenant may queue.")


class QuotaError(Exception):
    """A tenant asked for more than its share; the message says which limit."""


#: Session keys the server issues start with this; names a client chooses may not.
KEY_PREFIX = "key-"


#: Snippets the server runs at once across all tenants; more wait for a thread.
MAX_THREADS = 256


class SessionPool:
    """Sessions by (tenant, name), each tenant within its own quota, reaped when idle.

    A tenant is who the server authenticated (``tenant_of``), never what a client claims.
    Within a tenant, sessions are addressed by a name the client chooses (``default`` when it
    gives none) or by a key the server issued (``open``): unguessable, so a session opened by
    key stays private even among clients that share a tenant.
    """

    def __init__(self, engine: Engine, *, idle_seconds: float = 600.0,
                 limits: TenantLimits | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 opener: Callable[[], HostedSession] | None = None) -> None:
        self.engine = engine
        self._opener = opener or engine.session
        self.idle_seconds = idle_seconds
        self.limits = limits or TenantLimits()
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, str], tuple[HostedSession, float]] = {}
        # Threads for the snippets running at once, across tenants (each tenant within its
        # max_concurrent); created as needed.
        self.executor = ThreadPoolExecutor(MAX_THREADS, thread_name_prefix="codeact-mcp")
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap_forever, name="codeact-reaper",
                                        daemon=True)
        self._reaper.start()

    def _count(self, tenant: str) -> int:
        return sum(owner == tenant for owner, _ in self._sessions)

    def count(self, tenant: str) -> int:
        """The tenant's open sessions, by name and by key (what its quota counts)."""
        with self._lock:
            return self._count(tenant)

    def _create(self, tenant: str, name: str) -> HostedSession:
        with self._lock:
            if self._count(tenant) >= self.limits.max_sessions:
                raise QuotaError(
                    f"this client has {self.limits.max_sessions} open sessions, the limit; "
                    "close one with close_session")
            self._sessions[(tenant, name)] = (_PENDING, self._clock())
        try:
            session = self._opener()
        except BaseException:
            with self._lock:
                self._sessions.pop((tenant, name), None)
            raise
        with self._lock:
            self._sessions[(tenant, name)] = (session, self._clock())
        return session

    def get(self, tenant: str, name: str) -> HostedSession:
        """The tenant's session ``name``; a name (not a key) is created on first use."""
        with self._lock:
            found = self._sessions.get((tenant, name))
            if found is not None and found[0] is not _PENDING:
                self._sessions[(tenant, name)] = (found[0], self._clock())
                return found[0]
        if name.startswith(KEY_PREFIX):
            raise QuotaError(f"there is no session {name!r} for this client (it was closed, "
                             "reaped when idle, or belongs to someone else); call run without "
                             "`session` or open_session to start a new one")
        if found is not None:
            raise QuotaError(f"session {name!r} is still starting; try again")
        return self._create(tenant, name)

    def open(self, tenant: str, key: str | None = None) -> str:
        """A new session under a key the server chose (``new_key``); only whoever holds the
        key can use it."""
        key = key or self.new_key()
        self._create(tenant, key)
        return key

    @staticmethod
    def new_key() -> str:
        return KEY_PREFIX + secrets.token_urlsafe(18)

    def touch(self, tenant: str, name: str) -> None:
        with self._lock:
            found = self._sessions.get((tenant, name))
            if found is not None:
                self._sessions[(tenant, name)] = (found[0], self._clock())

    def names(self, tenant: str) -> list[str]:
        """The tenant's sessions opened by name (keys are not listed: they are credentials)."""
        with self._lock:
            return sorted(name for owner, name in self._sessions
                          if owner == tenant and not name.startswith(KEY_PREFIX))

    def close(self, tenant: str, name: str) -> bool:
        with self._lock:
            found = self._sessions.get((tenant, name))
            if found is None or found[0] is _PENDING:
                return False
            del self._sessions[(tenant, name)]
        found[0].close()
        return True

    def reap(self) -> int:
        deadline = self._clock() - self.idle_seconds
        with self._lock:
            idle = [k for k, (s, used) in self._sessions.items()
                    if used < deadline and s is not _PENDING]
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
            sessions = [s for s, _ in self._sessions.values() if s is not _PENDING]
            self._sessions.clear()
        for session in sessions:
            session.close()
        self.executor.shutdown(wait=False, cancel_futures=True)


class _Pending:
    """Holds a session's place while it starts (outside the pool's lock)."""

    def close(self) -> None:
        return None


_PENDING: Any = _Pending()


class TenantGate:
    """At most ``max_concurrent`` calls of one tenant run at once, ``max_waiting`` queue.

    Waiting happens here, asynchronously, before a worker thread is taken: a tenant that
    floods the server queues behind itself and holds no thread another tenant needs.
    """

    def __init__(self, limits: TenantLimits) -> None:
        self.limits = limits
        self._slots: dict[str, anyio.Semaphore] = {}
        self._waiting: dict[str, int] = {}

    @asynccontextmanager
    async def slot(self, tenant: str) -> AsyncIterator[None]:
        semaphore = self._slots.setdefault(tenant, anyio.Semaphore(self.limits.max_concurrent))
        if semaphore.value == 0 and self._waiting.get(tenant, 0) >= self.limits.max_waiting:
            raise QuotaError(f"this client already has {self.limits.max_concurrent} calls "
                             f"running and {self.limits.max_waiting} waiting; wait for them")
        self._waiting[tenant] = self._waiting.get(tenant, 0) + 1
        try:
            await semaphore.acquire()
        finally:
            self._waiting[tenant] -= 1
        try:
            yield
        finally:
            semaphore.release()


#: The header through which the HTTP front door tells the tools who is calling. Whatever a
#: client sends under this name is dropped; the value carries a per-process secret, so a
#: server mounted without ``http_app`` cannot be fooled by a client that sets it either.
TENANT_HEADER = "x-codeact-tenant"
_HEADER_SECRET = secrets.token_hex(16)
ANONYMOUS = "anonymous"


def tenant_of(ctx: Context[Any, Any]) -> str:
    """Who is calling: the process over stdio; over HTTP, the tenant the front door
    authenticated (by token), never a header or session id the client chose."""
    headers = ctx.headers
    if not headers:
        return "stdio"
    marked = headers.get(TENANT_HEADER, "")
    secret, _, tenant = marked.partition(":")
    if tenant and hmac.compare_digest(secret, _HEADER_SECRET):
        return tenant
    return ANONYMOUS


def _run_output(name: str, result: RunResult) -> RunOutput:
    return RunOutput(ok=result.ok, executed=result.executed, session=name,
                     stdout=result.stdout + result.stderr, value=result.value,
                     final=result.final, diagnostics=list(result.diagnostics),
                     tool_calls=len(result.tool_calls),
                     wall_ms=result.usage.wall_ms if result.usage else 0.0,
                     policy_digest=result.policy_digest)


#: Characters of output or value in the text a model reads (as in the agent loop).
OBSERVATION_CHARS = 2000


def _tool_result(output: BaseModel, is_error: bool, text: str | None = None) -> CallToolResult:
    """Structured content for programs; as text, what a model reads: for run and check the
    same compact observation the agent loop sends, else the JSON."""
    return CallToolResult(
        content=[TextContent(type="text", text=text if text is not None
                             else output.model_dump_json())],
        structured_content=output.model_dump(mode="json"), is_error=is_error)


def build_server(engine: Engine, *, idle_seconds: float = 600.0,
                 limits: TenantLimits | None = None, name: str = "codeact",
                 opener: Callable[[], HostedSession] | None = None,
                 ) -> tuple[MCPServer, SessionPool]:
    """The MCP server for an engine, and its session pool (close it when done).

    ``opener`` makes the sessions (default ``engine.session``; ``EnginePool.session`` runs
    them on worker processes, every core); ``engine`` gives the tools and rules shown."""
    pool = SessionPool(engine, idle_seconds=idle_seconds, limits=limits, opener=opener)
    gate = TenantGate(pool.limits)
    stubs = engine.prompt_view.strip()
    rules = render_prompt_rules(engine.policy)
    server = MCPServer(name, instructions=(
        "Solve tasks by writing Python snippets for the `run` tool. The snippets call the "
        "tools below, which are already defined; names persist within a session.\n\n"
        f"Rules:\n{rules}"))
    run_description = (
        "Check a Python snippet (syntax, policy, types) and run it in a sandboxed session. "
        "Names a snippet binds stay available to later snippets of the same session "
        "(`session`: a name of your choice, `default` if omitted, or a key from open_session). "
        "End with final_answer(value) to return a value. On failure, `diagnostics` say what to "
        "fix (stage, code, line, column, message, hint).\n\n"
        f"Rules:\n{rules}\n\nTools the snippet can call (bodies omitted):\n```python\n"
        f"{stubs}\n```"
    )

    async def in_session(ctx: Context[Any, Any], session: str,
                         work: Callable[[AsyncSession], Awaitable[_T]]) -> _T:
        """``work`` on the caller's session, within the caller's quota, off the event loop.
        A cancelled call (the client's ``notifications/cancelled``) interrupts its snippet
        and keeps the caller's slot until the snippet has stopped."""
        tenant = tenant_of(ctx)
        try:
            async with gate.slot(tenant):
                target = await anyio.to_thread.run_sync(pool.get, tenant, session)
                done = await work(AsyncSession(target, pool.executor))
        except QuotaError as exc:
            raise ToolError(str(exc)) from None
        except RuntimeError as exc:  # the session was closed under the call
            raise ToolError(f"session {session!r}: {exc}") from None
        pool.touch(tenant, session)
        return done

    @server.tool(name="run", description=run_description)
    async def run(code: str, ctx: Context[Any, Any],
                  session: str = "default") -> Annotated[CallToolResult, RunOutput]:
        result = await in_session(ctx, session, lambda target: target.run(code))
        return _tool_result(_run_output(session, result), is_error=not result.ok,
                            text=observation(result, "structured", OBSERVATION_CHARS,
                                             closing=False))

    @server.tool(name="check", description=(
        "Check a Python snippet without running it: syntax, policy and types, with the names "
        "the session holds. Returns the diagnostics."))
    async def check(code: str, ctx: Context[Any, Any],
                    session: str = "default") -> Annotated[CallToolResult, CheckOutput]:
        report = await in_session(ctx, session, lambda target: target.check(code))
        output = CheckOutput(ok=report.ok, session=session, diagnostics=list(report.diagnostics),
                             policy_digest=report.policy_digest)
        return _tool_result(output, is_error=not report.ok, text=check_observation(report))

    @server.tool(name="open_session", description=(
        "Open a new session under a key the server chooses and return the key; pass it as "
        "`session` to run and check. Only whoever holds the key can use the session."))
    async def open_session(ctx: Context[Any, Any]) -> OpenedOutput:
        tenant = tenant_of(ctx)
        key = pool.new_key()
        try:
            async with gate.slot(tenant):
                await anyio.to_thread.run_sync(pool.open, tenant, key)
                # A cancellation that came while the thread opened the session is held until
                # the next checkpoint: take one here, or the handler would return normally.
                await anyio.lowlevel.checkpoint()
        except QuotaError as exc:
            raise ToolError(str(exc)) from None
        except BaseException:
            # Cancelled (the client gave up): nobody will ever hold this key, so the session
            # must not go on counting against the tenant's quota until it is reaped.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(pool.close, tenant, key)
            raise
        return OpenedOutput(session=key)

    @server.tool(name="close_session", description="Close a session and forget its names.")
    async def close_session(session: str, ctx: Context[Any, Any]) -> ClosedOutput:
        tenant = tenant_of(ctx)
        try:
            # In the tenant's slots like any call: closing stops a running snippet, and
            # that takes a thread until it has stopped.
            async with gate.slot(tenant):
                closed = await anyio.to_thread.run_sync(pool.close, tenant, session)
        except QuotaError as exc:
            raise ToolError(str(exc)) from None
        return ClosedOutput(closed=closed)

    @server.tool(name="list_sessions", description=(
        "The names of this client's open sessions (sessions opened by key are not listed)."))
    async def list_sessions(ctx: Context[Any, Any]) -> SessionsOutput:
        return SessionsOutput(sessions=pool.names(tenant_of(ctx)))

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


class TenantAuth:
    """The HTTP front door: who is calling, from the bearer token alone.

    With tokens, a request without a known ``Authorization: Bearer <token>`` gets 401; each
    token names its tenant (every token is compared, in constant time). Without tokens every
    client is the ``anonymous`` tenant. Either way a client's own tenant header is dropped.
    """

    def __init__(self, app: ASGIApp, tokens: Mapping[str, str]) -> None:
        self.app = app
        self.tokens = [(f"Bearer {token}".encode(), tenant) for token, tenant in tokens.items()]

    def _tenant(self, given: bytes) -> str | None:
        found = None
        for expected, tenant in self.tokens:
            if hmac.compare_digest(given, expected):
                found = tenant
        return found

    async def __call__(self, scope: MutableMapping[str, Any],
                       receive: Callable[[], Awaitable[Any]],
                       send: Callable[[MutableMapping[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] == "http":
            header = TENANT_HEADER.encode()
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != header]
            tenant: str | None = ANONYMOUS
            if self.tokens:
                tenant = self._tenant(dict(scope["headers"]).get(b"authorization", b""))
            if tenant is None:
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body", "body": b'{"error":"unauthorized"}'})
                return
            headers.append((header, f"{_HEADER_SECRET}:{tenant}".encode()))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


class TenantsFile(BaseModel):
    """``--tokens FILE``: one bearer token per tenant, ``[tenants] alice = "<token>"``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenants: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")],
                  Annotated[str, Field(min_length=16)]]

    @classmethod
    def load(cls, path: Path) -> dict[str, str]:
        """Tenant name -> token; a clear ValueError for a bad file."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            tenants = cls.model_validate(data).tenants
        except FileNotFoundError:
            raise ValueError(f"no such tokens file: {path}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a TOML file ({exc})") from None
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                 for e in exc.errors())
            raise ValueError(f"{path}: {problems}") from None
        if not tenants:
            raise ValueError(f"{path}: no tenants")
        if len(set(tenants.values())) != len(tenants):
            raise ValueError(f"{path}: two tenants share a token")
        return tenants


def http_app(server: MCPServer, *, host: str, token: str | None = None,
             tenants: Mapping[str, str] | None = None) -> ASGIApp:
    """The streamable-HTTP app behind the tenant front door.

    ``token`` is one bearer token (tenant ``default``); ``tenants`` maps tenant names to
    tokens. Without either every client is one tenant, and only loopback is allowed.
    """
    tokens = {token: "default"} if token else {}
    for tenant, secret in (tenants or {}).items():
        if secret in tokens:
            raise ValueError(f"tenant {tenant!r} shares a token with another")
        tokens[secret] = tenant
    if host not in LOOPBACK and not tokens:
        raise ValueError(f"refusing to listen on {host} without a bearer token "
                         "(--token, --tokens or CODEACT_MCP_TOKEN)")
    app: ASGIApp = server.streamable_http_app(host=host)
    return TenantAuth(app, tokens)

"""The parent's side of a session child: brokering tool calls and supervising the process.

Tool calls are validated against the tool's signature before the tool runs, and the return
value against the declared type before it is sent back. The child is supervised with a wall
clock deadline, a per-snippet CPU budget (prlimit on the child) and a frame size limit;
whatever the child does, the outcome is data, never an exception that escapes to the host.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import json
import logging
import os
import resource
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pydantic import (
    ValidationError,
)
from pydantic_core import from_json, to_json

from engine.errors import SandboxUnavailableError, ToolArgumentError, ToolResultError
from engine.execution import NotStarted, Reported, ToolHandler
from engine.policy.model import Limits
from engine.policy.permissions import ToolPermissions
from engine.results import ToolCall, ToolCallStatus
from engine.sandbox.bytes_codec import MARK as _MARK
from engine.sandbox.bytes_codec import BytesCodecError, untag_bytes
from engine.sandbox.protocol import (
    FrameReader,
    Kind,
    PeerClosed,
    ProtocolError,
    Timeout,
    ToolStatus,
    write_frame,
)
from engine.sandbox.zygote import Spawned, Zygote
from engine.tools import Tool, ToolRegistry

log = logging.getLogger("engine.tools")
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: The parent reads a running child's CPU time when its budget could be spent, never more
#: often than this (the kernel's limit counts whole seconds; the parent's is exact).
_WATCH_SECONDS = 0.01


def _has_capability(number: int) -> bool:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> number & 1)
    except (OSError, ValueError):
        pass
    return False


#: Lowering a child's hard CPU limit is only safe if it can be raised again for the next
#: snippet, which takes CAP_SYS_RESOURCE; without it the hard limit stays open and the
#: parent's watchdog alone enforces the budget.
_CAN_RAISE_HARD_LIMITS = _has_capability(24)  # CAP_SYS_RESOURCE


class CallRecord(NamedTuple):
    """One brokered call, as the session records it for audit and for replay."""

    # A named tuple rather than a frozen dataclass: as immutable, and made for every call
    # at a third of the cost.
    tool: str
    arguments: bytes  # the canonical JSON of [args, kwargs]
    status: ToolStatus
    reply: bytes  # the TOOL_RESULT payload sent back
    duration_ms: float
    error: str | None = None

    @property
    def kept(self) -> bool:
        """Whether the payloads were kept (past the record budget only the verdict is)."""
        return bool(self.arguments)

    def public(self) -> ToolCall:
        """The call as results and transcripts show it: JSON text, no framing."""
        kept = bool(self.arguments)
        # Validated, not model_construct(): pydantic-core builds the model from plain values
        # faster than model_construct's Python loop (10,000 calls a snippet pay for either).
        return ToolCall(
            tool=self.tool, ok=self.status is _OK,
            duration_ms=round(self.duration_ms, 3), error=self.error,
            status=_PUBLIC_STATUS[self.status],
            arguments=self.arguments.decode() if kept else None,
            reply=self.reply[1:].decode() if kept else None)

    @classmethod
    def from_public(cls, call: ToolCall) -> CallRecord | None:
        """The record a transcript's call stands for; None if its payloads were not kept."""
        if call.arguments is None or call.reply is None:
            return None
        status = next(k for k, v in _PUBLIC_STATUS.items() if v is call.status)
        return cls(call.tool, call.arguments.encode(), status,
                   bytes([status]) + call.reply.encode(), call.duration_ms, call.error)


_PUBLIC_STATUS = {status: ToolCallStatus[status.name] for status in ToolStatus}


class ToolBroker:
    """Serves one snippet's tool calls: validate, call, validate, serialise.

    Every limit is enforced here whatever the child claims: the number of calls, the size of
    arguments and results, and the bytes kept for replay (``record_budget``: past it, calls
    are recorded without their payloads and the snippet cannot be replayed).
    """

    def __init__(self, registry: ToolRegistry, limits: Limits,
                 replay: list[CallRecord] | None = None, *,
                 record_budget: int = 64 * 1024 * 1024,
                 stray: StrayCalls | None = None,
                 permissions: ToolPermissions | None = None) -> None:
        self.registry = registry
        self.limits = limits
        self.permissions = permissions
        self.calls_by_tool: dict[str, int] = {}
        self.calls: list[CallRecord] = []
        self._replay = list(replay) if replay is not None else None
        self.diverged = False
        self.record_budget = record_budget
        self.recorded_bytes = 0
        self.replayable = True
        self.stopped: str | None = None  # why a LIMIT reply told the child to stop
        self.deadline: float | None = None  # the snippet's: no tool is waited for past it
        self.stray = stray if stray is not None else StrayCalls()
        self.traffic = 0  # bytes of arguments and results so far
        self._plans: dict[str, _Plan] = {}
        #: The call answer() replied to and settle() has not recorded yet.
        self._pending: tuple[str, bytes | None, tuple[list[Any], dict[str, Any]], ToolStatus,
                             bytes, float, str | None] | None = None

    def handle(self, payload: bytes) -> bytes:
        """The reply to one TOOL_CALL payload. Never raises for what a payload holds: a
        malformed call is answered as bad arguments; only framing errors are the caller's."""
        reply = self.answer(payload)
        self.settle()
        return reply

    def answer(self, payload: bytes) -> bytes:
        """``handle()`` but for the call's bookkeeping, which ``settle()`` does: a caller
        that sends the reply first lets the child go on meanwhile. Until ``settle()``, the
        call is not in ``calls``."""
        if self._pending is not None:
            self.settle()
        if self.stopped is not None:
            # An honest child stops at a LIMIT reply (it raises an uncatchable stop).
            raise ProtocolError(f"a tool call after the child was told to stop ({self.stopped})")
        started = _perf_counter()
        limits = self.limits
        self.traffic += len(payload)
        if self.traffic > limits.max_tool_traffic_bytes:
            message = (f"the snippet's tool calls moved more than "
                       f"{limits.max_tool_traffic_bytes} bytes")
            return self._stop(_error_reply(ToolStatus.LIMIT, "R206", message), message)
        if len(payload) > limits.max_tool_argument_bytes + _CALL_OVERHEAD:
            message = (f"the arguments are {len(payload)} bytes; the limit is "
                       f"{limits.max_tool_argument_bytes}")
            return self._stop(_error_reply(ToolStatus.LIMIT, "R206", message), message)
        request = _decode(payload)
        name = args = kwargs = None
        if type(request) is dict:  # exact types: both JSON readers make only these
            name, args, kwargs = request.get("tool"), request.get("args"), request.get("kwargs")
        if not (type(name) is str and type(args) is list and type(kwargs) is dict):
            return _error_reply(ToolStatus.BAD_ARGUMENTS, None,
                                "the tool call could not be decoded (arguments must be data)")
        if len(self.calls) >= limits.max_tool_calls:
            message = f"more than {limits.max_tool_calls} tool calls in one snippet"
            return self._stop(_error_reply(ToolStatus.LIMIT, "R205", message), message)
        if (payload.count(b"[") + payload.count(b"{") > MAX_ARGUMENT_NESTING
                and _nesting_over(request, MAX_ARGUMENT_NESTING)):
            # Past this, the recursive code below (json, pydantic, the tool) could run out
            # of the parent's stack, whatever depth its caller is at.
            return _error_reply(ToolStatus.BAD_ARGUMENTS, None,
                                f"{name}(): the arguments nest more than "
                                f"{MAX_ARGUMENT_NESTING} levels deep")
        arguments = None
        if (self.permissions is not None or self._replay is not None
                or not _scalars(args, kwargs)):
            # A tool may change a list or dict it is given: the record is the call as sent.
            arguments = _canonical([args, kwargs]).encode()
        if self.permissions is not None:  # a replay is judged by today's policy too
            refused = self._permitted(name)
            if refused is not None:
                assert arguments is not None
                self._record(CallRecord(name, arguments, ToolStatus.LIMIT, refused,
                                        (_perf_counter() - started) * 1000, self.stopped))
                return refused
        sent = args, kwargs
        if _MARK in payload:
            try:
                args, kwargs = untag_bytes(args), untag_bytes(kwargs)
            except BytesCodecError as exc:
                return _error_reply(ToolStatus.BAD_ARGUMENTS, None, f"{name}(): {exc}")
        if self._replay is not None:
            assert arguments is not None
            refused = self._refused_arguments(name, args, kwargs)
            if refused is not None:  # a recorded reply is not a pass for today's rules
                self._record(CallRecord(name, arguments, ToolStatus.LIMIT, refused, 0.0,
                                        self.stopped))
                return refused
            return self._replayed(name, arguments)
        status, reply, error = self._call(name, args, kwargs)
        self._pending = (name, arguments, sent, status, reply,
                         (_perf_counter() - started) * 1000, error)
        return reply

    def settle(self) -> None:
        """Record the call ``answer()`` replied to, and count it against the limits."""
        pending = self._pending
        if pending is None:
            return
        self._pending = None
        name, arguments, sent, status, reply, duration_ms, error = pending
        if arguments is None:  # plain values: what the tool did cannot have changed them
            arguments = _canonical(list(sent)).encode()
        self.traffic += len(reply)
        self._record(CallRecord(name, arguments, status, reply, duration_ms, error))
        if status is _OK or status is _TOOL_ERROR:  # as _count
            self.calls_by_tool[name] = self.calls_by_tool.get(name, 0) + 1
        elif status is _LIMIT:
            self.stopped = error or "a limit"

    def _count(self, name: str, status: ToolStatus) -> None:
        """A call whose tool ran (it answered or raised) uses the tool's ``calls`` quota; a
        refused or malformed one did not run and does not."""
        if status is _OK or status is _TOOL_ERROR:
            self.calls_by_tool[name] = self.calls_by_tool.get(name, 0) + 1

    def resume(self) -> None:
        """Take calls again after a LIMIT reply. For a caller with no snippet to stop (the
        JSON agent): there, a refused call ends that call, and the model reads why."""
        self.stopped = None

    def _permitted(self, name: str) -> bytes | None:
        """A LIMIT reply when the policy does not permit this call (before the tool runs)."""
        assert self.permissions is not None
        why = self.permissions.denied(name)
        if why is not None:
            return self._stop(_error_reply(ToolStatus.LIMIT, "R216", why), why)
        why = self.permissions.over_limit(name, self.calls_by_tool.get(name, 0))
        if why is not None:
            return self._stop(_error_reply(ToolStatus.LIMIT, "R218", why), why)
        return None

    def _refused_arguments(self, name: str, args: list[Any],
                           kwargs: dict[str, Any]) -> bytes | None:
        """A LIMIT reply when an argument rule refuses this call's (validated) arguments."""
        if self.permissions is None or name not in self.registry \
                or not self.permissions.rules.arguments.get(name):
            return None
        try:
            bound = self.registry[name].validate_arguments(args, kwargs)
        except ToolArgumentError:
            return None  # the call fails as bad arguments on its own
        why = self.permissions.refused_argument(name, bound.arguments)
        return None if why is None else self._stop(
            _error_reply(ToolStatus.LIMIT, "R217", why), why)

    def _stop(self, reply: bytes, why: str) -> bytes:
        self.stopped = why
        return reply

    def _record(self, record: CallRecord) -> None:
        size = len(record.arguments) + len(record.reply)
        if self.replayable and self.recorded_bytes + size <= self.record_budget:
            self.recorded_bytes += size
        else:  # keep what the result reports, not the payloads: replay is off
            self.replayable = False
            record = record._replace(arguments=b"", reply=b"")
        self.calls.append(record)

    @property
    def unused(self) -> int:
        """Recorded calls a replayed snippet has not made (it took another path)."""
        return len(self._replay or ())

    def _replayed(self, name: str, arguments: bytes) -> bytes:
        assert self._replay is not None
        expected = self._replay[0] if self._replay else None
        if expected is None or (expected.tool, expected.arguments) != (name, arguments):
            self.diverged = True
            now = f"{name}({_shown(arguments)})"
            was = (f"{expected.tool}({_shown(expected.arguments)})" if expected is not None
                   else "no further call")
            message = (f"call {len(self.calls) + 1} is now {now}; the record has {was} there")
            return self._stop(_error_reply(ToolStatus.DIVERGED, None, message), message)
        record = self._replay.pop(0)
        self.calls.append(record)
        self._count(name, record.status)
        if record.status is ToolStatus.LIMIT:
            self.stopped = record.error or "a limit"
        return record.reply

    def _call(self, name: str, args: list[Any], kwargs: dict[str, Any]
              ) -> tuple[ToolStatus, bytes, str | None]:
        plan = self._plans.get(name)
        if plan is None:
            if name not in self.registry:  # not kept in _plans: the child chooses the names
                message = f"there is no tool named {name!r}"
                reply = _error_reply(ToolStatus.BAD_ARGUMENTS, None, message)
                return ToolStatus.BAD_ARGUMENTS, reply, message
            rules = self.permissions.rules.arguments.get(name) if self.permissions else None
            plan = self._plans[name] = _Plan.of(self.registry[name], bind=bool(rules))
        tool, checks = plan.tool, plan.checks
        values: list[Any] | None = None
        if checks is not None and not kwargs and plan.least <= len(args) <= len(checks):
            # Each argument is validated by its parameter's own validator, as
            # validate_arguments would; a failure takes the general path, which words the
            # message.
            try:
                values = [check(value) for check, value in zip(checks, args, strict=False)]
            except ValidationError:
                values = None
        if values is not None:
            call_args: tuple[Any, ...] | list[Any] = values
            call_kwargs: dict[str, Any] = {}
        else:
            try:
                bound = tool.validate_arguments(args, kwargs)
            except ToolArgumentError as exc:
                return (ToolStatus.BAD_ARGUMENTS,
                        _error_reply(ToolStatus.BAD_ARGUMENTS, None, str(exc)), str(exc))
            if self.permissions is not None:
                why = self.permissions.refused_argument(name, bound.arguments)
                if why is not None:
                    return ToolStatus.LIMIT, _error_reply(ToolStatus.LIMIT, "R217", why), why
            call_args, call_kwargs = bound.args, bound.kwargs
        seconds = self.limits.tool_timeout_seconds
        try:
            if seconds is None:
                value = tool.func(*call_args, **call_kwargs)
            else:
                wait = seconds if self.deadline is None else \
                    min(seconds, max(0.0, self.deadline - time.monotonic()))
                value = _call_bounded(name, tool.func, call_args, call_kwargs, seconds, wait,
                                      self.stray)
            result = plan.dump(value)
        except ToolResultError as exc:
            return ToolStatus.TOOL_ERROR, _tool_error("ToolResultError", str(exc)), str(exc)
        except _ToolTimeout as exc:
            return ToolStatus.TOOL_ERROR, _tool_error("ToolTimeout", str(exc)), str(exc)
        except Exception as exc:  # the tool's failure is the snippet's exception, not ours
            # The snippet gets type and message; the tool's author gets the traceback.
            log.debug("tool %r raised", name, exc_info=True)
            message = str(exc) or type(exc).__name__
            return (ToolStatus.TOOL_ERROR, _tool_error(type(exc).__name__, message),
                    f"{type(exc).__name__}: {message}")
        if len(result) > self.limits.max_tool_result_bytes:
            message = (f"the result of {name}() is {len(result)} bytes; the limit is "
                       f"{self.limits.max_tool_result_bytes}")
            return ToolStatus.LIMIT, _error_reply(ToolStatus.LIMIT, "R206", message), message
        return _OK, _OK_BYTE + result, None


class _Plan(NamedTuple):
    """How the broker calls one tool, worked out at its first call in a snippet."""

    tool: Tool
    least: int  # the parameters without a default
    #: Each positional parameter's validator, for calls whose arguments all come by position
    #: (most calls: no Signature.bind). None when calls must bind: keyword-only or variadic
    #: parameters, or argument rules, which judge arguments by parameter name.
    checks: tuple[Callable[[Any], Any], ...] | None
    dump: Callable[[Any], bytes]  # Tool.dump_result, or the same done by the core directly

    @classmethod
    def of(cls, tool: Tool, bind: bool) -> _Plan:
        positional = (inspect.Parameter.POSITIONAL_ONLY,
                      inspect.Parameter.POSITIONAL_OR_KEYWORD)
        checks = None
        if not bind and all(p.kind in positional for p in tool.params):
            adapters = tool.argument_adapters  # the very validators validate_arguments uses
            # The core validators: TypeAdapter.validate_python only passes its defaults.
            checks = tuple(adapters[p.name].validator.validate_python for p in tool.params)
        return cls(tool, sum(not p.has_default for p in tool.params), checks,
                   _result_dumper(tool))


def _result_dumper(tool: Tool) -> Callable[[Any], bytes]:
    """``tool.dump_result`` without TypeAdapter's wrappers, which only pass their defaults
    to the core validator and serialiser (a third of a trivial call's time in the broker)."""
    if tool.returns_bytes:
        return tool.dump_result
    adapter = tool.return_adapter
    validate, serialise = adapter.validator.validate_python, adapter.serializer.to_json

    def dump(value: Any) -> bytes:
        try:
            checked = validate(value, from_attributes=True)
        except ValidationError:
            return tool.dump_result(value)  # raises, with the message that names the tool
        return serialise(checked)

    return dump


# Looked up once: an enum member is an attribute lookup through the enum's metaclass, and a
# call went through ten of them.
_OK, _LIMIT, _TOOL_ERROR = ToolStatus.OK, ToolStatus.LIMIT, ToolStatus.TOOL_ERROR
_TOOL_CALL, _TOOL_RESULT = Kind.TOOL_CALL, Kind.TOOL_RESULT
_OK_BYTE = bytes([ToolStatus.OK])
_perf_counter = time.perf_counter


def _nothing() -> None:
    pass


_CALL_OVERHEAD = 4096  # the call's envelope around its arguments


class _ToolTimeout(Exception):
    pass


class StrayCalls:
    """The tool calls of one session running on threads of their own, abandoned ones
    included: a thread cannot be stopped, so their number is what bounds the threads a
    session's snippets can leave behind."""

    LIMIT = 8

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self.running = 0
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self.running >= self.limit:
                return False
            self.running += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.running -= 1


def _call_bounded(name: str, func: Callable[..., Any], args: tuple[Any, ...] | list[Any],
                  kwargs: dict[str, Any], seconds: float, wait: float, stray: StrayCalls) -> Any:
    """Call a tool on a thread of its own and wait for it at most ``wait`` seconds (its
    ``seconds``, or less when the snippet's own time ends first).

    A thread cannot be stopped: past the limit it is abandoned, and whatever the tool does
    afterwards still happens. The caller's context variables go with the call.
    """
    if not stray.enter():
        raise _ToolTimeout(f"{stray.limit} earlier tool calls of this session are still "
                           f"running past their time limit; {name}() is not started until "
                           "one of them ends")
    outcome: list[Any] = []
    done = threading.Event()
    context = contextvars.copy_context()

    def target() -> None:
        try:
            outcome.append((True, context.run(func, *args, **kwargs)))
        except BaseException as exc:  # raised again in the waiting caller, as if inline
            outcome.append((False, exc))
        finally:
            stray.leave()
            done.set()

    try:
        threading.Thread(target=target, name=f"codeact-tool-{name}", daemon=True).start()
    except BaseException:
        stray.leave()
        raise
    if not done.wait(wait):
        log.warning("tool %r did not return within %g s; no longer waiting for it", name,
                    seconds)
        raise _ToolTimeout(f"{name}() did not return within {seconds:g} s "
                           "(limits.tool_timeout_seconds); it may still finish on its own")
    returned, value = outcome[0]
    if not returned:
        raise value
    return value


#: How deep a tool call's arguments may nest (pydantic-core's JSON reader stops there too).
MAX_ARGUMENT_NESTING = 200


def _nesting_over(value: Any, limit: int) -> bool:
    """Whether decoded JSON nests deeper than ``limit``; a loop, so any depth is safe."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if type(item) is list:
            stack.extend((child, depth + 1) for child in item)
        elif type(item) is dict:
            stack.extend((child, depth + 1) for child in item.values())
    return False


def _shown(arguments: bytes, limit: int = 120) -> str:
    """Canonical ``[args, kwargs]`` JSON as a call's argument list, cut for a message."""
    try:
        args, kwargs = json.loads(arguments)
        text = ", ".join([json.dumps(a) for a in args]
                         + [f"{k}={json.dumps(v)}" for k, v in kwargs.items()])
    except (ValueError, TypeError, RecursionError):
        text = arguments.decode(errors="replace")
    return text if len(text) <= limit else text[:limit] + "..."


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _scalars(args: list[Any], kwargs: dict[str, Any]) -> bool:
    """Whether every argument is an immutable scalar (most calls)."""
    scalars = _SCALARS
    for value in args:
        if type(value) not in scalars:
            return False
    return all(type(value) in scalars for value in kwargs.values()) if kwargs else True


def _canonical_encoder() -> Callable[[Any], str]:
    """``json.dumps(value, sort_keys=True)``, the text records hold (a replay compares it
    byte for byte): the same C encoder, made once rather than on every call."""
    encoder = json.JSONEncoder(sort_keys=True)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.encode
    # No cycle markers: the value was just decoded from JSON.
    iterencode = make(None, encoder.default, json.encoder.encode_basestring_ascii, None,
                      encoder.key_separator, encoder.item_separator, True, False, True)
    return lambda value: "".join(iterencode(value, 0))


_canonical = _canonical_encoder()


def _decode(payload: bytes) -> Any:
    try:
        return from_json(payload)
    except ValueError:
        pass
    try:  # the standard parser takes what pydantic-core refuses (ints of any size)
        return json.loads(payload)
    except (ValueError, RecursionError):
        return None


def _tool_error(kind: str, message: str) -> bytes:
    body = json.dumps({"type": kind, "message": message[:2000]}).encode()
    return bytes([ToolStatus.TOOL_ERROR]) + body


def _error_reply(status: ToolStatus, code: str | None, message: str) -> bytes:
    body: dict[str, Any] = {"message": message}
    if code:
        body["code"] = code
    return bytes([status]) + json.dumps(body).encode()


#: Slack over ``max_output_bytes`` for the truncation marker.
_MARKER_CHARS = 200



def _outcome_within(outcome: Reported, limits: Limits, source: str) -> None:
    """The parent's own check of what the child reports against the policy's limits."""
    for stream in (outcome.stdout, outcome.stderr):
        if len(stream) > limits.max_output_bytes + _MARKER_CHARS:
            raise ProtocolError(f"{len(stream)} characters of output; the limit is "
                                f"{limits.max_output_bytes}")
    if len(outcome.names) > MAX_NAMES or any(len(n) > len(source) for n in outcome.names):
        raise ProtocolError("more or longer names than a snippet can bind")
    if outcome.value is not None:
        size = len(to_json(outcome.value))
        if size > max(limits.max_answer_bytes, _REPR_BYTES):
            raise ProtocolError(f"a value of {size} bytes; the limit is "
                                f"{limits.max_answer_bytes}")


#: The child reports at most this many bound names (engine.sandbox.child.MAX_NAMES).
MAX_NAMES = 1_000
#: A value that is not data is reported as its repr, cut to 1,000 characters.
_REPR_BYTES = 4_100


@dataclass
class Execution:
    """What happened to one snippet in the child, as the parent observed it."""

    outcome: Reported | None = None  # the child's DONE payload, if it sent one
    killed_for: str | None = None  # "timeout", "cpu", "protocol", "interrupted": the parent

    exit_status: dict[str, int] = field(default_factory=dict)  # when the child died
    wall_ms: float = 0.0
    protocol_error: str | None = None
    cpu_before: float = 0.0  # seconds the process had used when the snippet started

    @property
    def killed_cpu_ms(self) -> float:
        """CPU the snippet used before the process died (from the zygote's accounting)."""
        used = self.exit_status.get("cpu_us")
        return max(0.0, used / 1000 - self.cpu_before * 1000) if used is not None else 0.0

    @property
    def child_died(self) -> bool:
        return self.outcome is None


#: The wait from RUN to a child's first frame is polled only when that usually comes this
#: soon (a trivial snippet: ~0.3 ms, most of it the child waking up), for this many times
#: its usual time; otherwise the parent sleeps at once. At most 0.6 ms of polling a snippet.
_RUN_SPIN_MAX = 0.0004
_RUN_SPIN_FACTOR = 1.5


class SandboxProcess:
    """One session child, from spawn to death."""

    def __init__(self, zygote: Zygote, limits: Limits, seed: int | None = None) -> None:
        self.zygote = zygote
        self.limits = limits
        spawned: Spawned = zygote.spawn()
        #: sent with the first snippet: the child may have been forked before the session
        self._seed = seed
        self.pid = spawned.pid
        self._pidfd = spawned.pidfd
        self._to_child = spawned.to_child
        self._from_child = spawned.from_child
        max_frame = max(limits.max_tool_argument_bytes,
                        8 * limits.max_output_bytes + limits.max_answer_bytes + 1_048_576)
        os.set_blocking(self._from_child, False)
        os.set_blocking(self._to_child, False)  # a child that stops reading cannot block us
        self._reader = FrameReader(self._from_child, max_frame)
        #: How long the child typically takes from RUN to its first frame (the outcome of a
        #: short snippet, or its first tool call); starts at "too long to poll for".
        self._first_frame = _RUN_SPIN_MAX
        self.alive = True
        # Reentrant: an interrupt may come from a signal handler on the thread inside kill().
        self._kill_lock = threading.RLock()
        self.executing = False
        self.interrupted = False
        try:
            kind, _ = self._reader.read(deadline=time.monotonic() + 30)
            if kind is not Kind.READY:
                raise ProtocolError(f"{kind.name} before READY")
        except (ProtocolError, Timeout) as exc:
            self.kill()
            status = self._exit_status()
            raise SandboxUnavailableError(
                f"the sandbox process failed to start ({type(exc).__name__}: {exc}; "
                f"exit status {status or 'unknown'})"
            ) from None

    def _cpu_seconds(self) -> float:
        try:
            with open(f"/proc/{self.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
        except (OSError, IndexError, ValueError):
            return 0.0

    def _grant_cpu(self) -> float:
        """Give this snippet its own CPU budget on top of what the session has used.

        The hard limit is one second past the soft one, so a snippet that ignores or blocks
        SIGXCPU is still killed by the kernel. Raising a hard limit again for the next snippet
        needs privilege (CAP_SYS_RESOURCE); without it the hard limit stays open and the
        parent's own watchdog (``execute``) does the killing. Returns the CPU used so far.
        """
        used = self._cpu_seconds()
        soft = int(used + self.limits.cpu_seconds + 0.999)
        hard = soft + 1 if _CAN_RAISE_HARD_LIMITS else resource.RLIM_INFINITY
        with contextlib.suppress(OSError, ValueError):  # gone: the run will notice
            resource.prlimit(self.pid, resource.RLIMIT_CPU, (soft, hard))
        return used

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, OSError):
            signal.pidfd_send_signal(self._pidfd, signum)

    def execute(self, source: str, broker: ToolHandler, snippet_id: int, *,
                stopped: Callable[[], bool] | None = None) -> Execution:
        """Run one snippet to its end. Whatever happens, no child is left running
        unsupervised: an unexpected error kills it before it propagates.

        ``stopped`` is asked under the lock ``interrupt`` takes: an interrupt whose caller
        marked it before this point makes ``stopped`` True (the snippet never starts,
        ``NotStarted``); one after it finds the snippet executing and kills it. None is lost.
        """
        with self._kill_lock:
            if stopped is not None and stopped():
                raise NotStarted
            self.executing = True
        try:
            execution = self._execute(source, broker, snippet_id)
        except BaseException:
            self.kill()
            raise
        finally:
            with self._kill_lock:
                self.executing = False
        if self.interrupted:  # even if it finished first: the kill was sent, it is gone
            execution.outcome = None
            execution.killed_for = "interrupted"
            self.kill()
            execution.exit_status = self._exit_status()
        return execution

    def _execute(self, source: str, broker: ToolHandler, snippet_id: int) -> Execution:
        started = time.monotonic()
        deadline = started + self.limits.timeout_seconds
        broker.deadline = deadline
        execution = Execution()
        self._signal(signal.SIGCONT)  # frozen since its last snippet
        execution.cpu_before = self._grant_cpu()
        cpu_limit = execution.cpu_before + self.limits.cpu_seconds
        answer, settle = ((broker.answer, broker.settle) if isinstance(broker, ToolBroker)
                          else (broker.handle, _nothing))
        try:
            request: dict[str, object] = {"id": snippet_id, "source": source}
            if self._seed is not None:
                request["seed"], self._seed = self._seed, None
            write_frame(self._to_child, Kind.RUN, json.dumps(request).encode(), deadline)
            sent = time.perf_counter()
            # The first wait is the snippet's own time, not a tool's answer: its polling
            # window comes from how long this child's snippets took to say something.
            spin: float | None = (_RUN_SPIN_FACTOR * self._first_frame
                                  if self._first_frame < _RUN_SPIN_MAX else 0.0)
            watch = time.monotonic() + self.limits.cpu_seconds
            while True:
                try:
                    kind, payload = self._reader.read(min(deadline, watch), spin)
                    if spin is not None:
                        spin = None  # later waits: the adaptive window of tool calls
                        self._first_frame += (time.perf_counter() - sent
                                              - self._first_frame) / 4
                except Timeout:
                    now = time.monotonic()
                    if now >= deadline:
                        raise
                    spare = cpu_limit - self._cpu_seconds()
                    if spare <= 0:
                        execution.killed_for = "cpu"
                        self.kill()
                        break
                    # A process with one thread cannot use CPU faster than the clock runs.
                    watch = now + max(spare, _WATCH_SECONDS)
                    continue
                if kind is _TOOL_CALL:
                    reply = answer(payload)
                    try:
                        if time.monotonic() > deadline:
                            raise Timeout
                        write_frame(self._to_child, _TOOL_RESULT, reply, deadline)
                    finally:
                        settle()  # while the child reads the reply
                elif kind is Kind.DONE:
                    try:
                        outcome = Reported.model_validate_json(payload)
                    except ValidationError as exc:
                        raise ProtocolError(f"a malformed outcome: {exc.errors()[0]['msg']}"
                                            ) from None
                    if outcome.id != snippet_id:
                        raise ProtocolError("an outcome for another snippet")
                    _outcome_within(outcome, self.limits, source)
                    execution.outcome = outcome
                    # Frozen until its next snippet: nothing a snippet left behind (a signal
                    # handler, a timer) runs while the session is idle.
                    self._signal(signal.SIGSTOP)
                    break
                else:
                    raise ProtocolError(f"unexpected {kind.name} frame")
        except Timeout:
            execution.killed_for = "timeout"
            self.kill()
        except (PeerClosed, BrokenPipeError):
            self.kill()  # it may have closed its pipes and still run
        except (ProtocolError, ValueError) as exc:
            execution.killed_for = "protocol"
            execution.protocol_error = str(exc)
            self.kill()
        execution.wall_ms = (time.monotonic() - started) * 1000
        if not self.alive:
            execution.exit_status = self._exit_status()
        return execution

    def _exit_status(self) -> dict[str, int]:
        try:
            return self.zygote.wait(self.pid)
        except Exception:
            return {}

    def kill(self) -> None:
        with self._kill_lock:
            if not self.alive:
                return
            self.alive = False
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            for fd in (self._to_child, self._from_child, self._pidfd):
                with contextlib.suppress(OSError):
                    os.close(fd)

    def interrupt(self) -> None:
        """Stop the running snippet from another thread or a signal handler: the process is
        killed and the snippet's execution reports ``interrupted``."""
        with self._kill_lock:
            if self.alive and self.executing:
                self.interrupted = True
                with contextlib.suppress(ProcessLookupError, OSError):
                    signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)

    def close(self) -> None:
        self.kill()  # the zygote reaps it; nobody needs its status

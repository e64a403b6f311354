"""pydantic-monty as a peer executor: the same snippets and tools as `executors.py`.

Monty (https://github.com/pydantic/monty) is a Python interpreter written in Rust that runs
each session in a pooled `monty` worker process, with ty bundled as an optional type check.
Tools reach it as host functions (`external_lookup`): each call suspends the worker, runs the
function here and sends the result back. Pydantic models cross as `ClassInstance` wrappers
with every field sent eagerly (nested models, lists and dicts of them wrapped the same way),
so `u.name` reads a field inside the sandbox; enums arrive as their plain values (a StrEnum
member as its str), which is monty's own conversion.

Runners, as `MontyPeer.runners()` builds them:
* warm session: one checkout reused for every snippet, no type check;
* warm session + ty: one checkout with `type_check=True` and the tools' stubs;
* fresh worker per snippet: a pool that retires a worker after one checkout, so every
  snippet gets a new `monty` process (and a new session).

Limits mirror the engine's default policy (10 s per snippet, 512 MiB), and the suspension
budget (host calls per checkout, 1000 by default) is raised so that a warm session can run
the 10,000-call loop many times.

Quirks of monty's ty (1.4.0) seen here: stubs with `__all__` make it forget the names earlier
feeds defined (so `monty_stubs` drops it); in a session, a global's type from an earlier feed
becomes its declared type, so `a = 1` then `a = 2` is refused (`Literal[2]` is not assignable
to `Literal[1]`: the error case after the trivial snippet); its typeshed has no `enum`, so a
stub's enum member is typed as its value (`Currency.USD` is `Literal["USD"]`, not a
`Currency`); and its check time grows with the session's length (`MontyPeer.ty_growth`).
"""

from __future__ import annotations

import functools
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Union

from pydantic import BaseModel

from engine.stubs import render_stubs
from engine.tools import Tool, ToolRegistry, is_enum, is_model

if TYPE_CHECKING:
    from pydantic_monty import Monty, MontySession, ResourceLimits

Runner = Callable[[str], Any]
_Closable = Union["Monty", "MontySession"]

WARM = "pydantic-monty (warm session)"
WARM_TY = "pydantic-monty + ty (warm session)"
FRESH = "pydantic-monty (fresh worker per snippet)"

LIMITS: ResourceLimits = {
    "max_feed_duration_secs": 10.0,  # the engine's default cpu_seconds
    "max_memory": 512 * 2**20,  # the engine's default memory_mb
    "max_suspensions": 10**9,  # host calls per checkout; the default 1000 stops the loop
}

#: What the bench snippets leave in a session: the loop's n and the 10-line summary.
EXPECTED_VALUES: dict[str, Any] = {"n": sum(i + 1 for i in range(10_000)),
                                   "summary": "3 active of 4, ids sum to 10"}


def monty_available() -> str | None:
    """None when pydantic-monty can be imported and its worker started, else why not."""
    try:
        import pydantic_monty
    except ImportError as exc:
        return f"pydantic-monty is not installed ({exc}); pip install pydantic-monty"
    try:
        with pydantic_monty.Monty() as pool, pool.checkout() as session:
            session.feed_run("1")
    except Exception as exc:  # no worker binary, a platform it does not support, ...
        return f"pydantic-monty {pydantic_monty.__version__} cannot start a worker: {exc}"
    return None


def monty_stubs(registry: ToolRegistry) -> str:
    """The engine's stubs for the registry (what mypy checks against), without `__all__`.

    With `__all__` in `type_check_stubs`, monty's ty forgets the names that earlier feeds
    of the session defined (`a = 1` then `a + 1` is an unresolved reference).
    """
    return re.sub(r"^__all__ = \[\n(?:    .*\n)*\]\n", "", render_stubs(registry),
                  flags=re.MULTILINE)


def to_monty(value: Any) -> Any:
    """A tool result as monty can take it: models wrapped, containers walked."""
    if isinstance(value, BaseModel):
        return _model_wrapper()(value, eager_attrs="all", allowed_methods={"model_dump"})
    if isinstance(value, list):
        return [to_monty(v) for v in value]
    if isinstance(value, tuple):
        return tuple(to_monty(v) for v in value)
    if isinstance(value, dict):
        return {k: to_monty(v) for k, v in value.items()}
    return value


@functools.cache
def _model_wrapper() -> type[Any]:
    """`to_monty`'s wrapper class, made on first use: this module imports without
    pydantic-monty, so that `monty_available` can say why it is missing."""
    from pydantic_monty import ClassInstance

    class Model(ClassInstance):
        """A pydantic model in the sandbox: its fields eager, nested models wrapped too."""

        def convert_value(self, /, name: str, value: Any) -> Any:
            return to_monty(value)

    return Model


def host_functions(tools: Iterable[Tool], calls: Counter[str], *,
                   validate: bool = False) -> dict[str, Any]:
    """`external_lookup` for the tools: each call counted, its result wrapped for monty.

    With `validate` the arguments go through the tool's own validation first (as the
    engine's broker does: "BOOKS" becomes `ProductCategory.BOOKS`); without it the function
    is called directly, as the other in-process peers of `executors.py` call `.func`.
    """
    from pydantic_monty import ClassType

    def host(tool: Tool) -> Callable[..., Any]:
        func, name = tool.func, tool.name

        def call(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            if validate:
                bound = tool.validate_arguments(list(args), kwargs)
                return to_monty(func(*bound.args, **bound.kwargs))
            return to_monty(func(*args, **kwargs))

        return call

    tools = list(tools)
    lookup: dict[str, Any] = {t.name: host(t) for t in tools}
    for named in ToolRegistry(tools).named_types:  # so snippets can name User, OrderStatus, ...
        if is_enum(named):
            lookup[named.__name__] = ClassType(named, eager_attrs="all")
        elif is_model(named):
            lookup[named.__name__] = ClassType(named)
    return lookup


def outcome_error(outcome: Any) -> str | None:
    """The first line of a monty error (`ZeroDivisionError: division by zero`), or None."""
    from pydantic_monty import MontyError, MontyRuntimeError, MontySyntaxError, MontyTypingError

    if isinstance(outcome, (MontyRuntimeError, MontySyntaxError)):
        return outcome.display("type-msg").splitlines()[0]
    if isinstance(outcome, MontyTypingError):
        lines = [line for line in outcome.display().splitlines() if line.strip()]
        return "ty: " + (lines[0] if lines else "type check failed")
    if isinstance(outcome, MontyError):
        return f"{type(outcome).__name__}: {str(outcome).splitlines()[0] if str(outcome) else ''}"
    return None


class MontyPeer:
    """Two pools (warm and one-checkout-per-worker), the runners `executors.py` times, and a
    host-side count of the tool calls monty made. Close it (or use it as a context manager)
    to end the sessions and stop the workers."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        from pydantic_monty import Monty

        tools = list(tools)
        self.calls: Counter[str] = Counter()
        self.lookup = host_functions(tools, self.calls)
        self.stubs = monty_stubs(ToolRegistry(tools))
        self._open: list[_Closable] = []
        # the two warm sessions and one more (self_check, ty_growth) at a time
        self.pool: Monty = self._enter(Monty(max_processes=3))
        self.fresh_pool: Monty = self._enter(Monty(max_checkouts_per_worker=1))

    def _enter(self, thing: _Closable) -> Any:
        thing.__enter__()
        self._open.append(thing)
        return thing

    def checkout(self, *, type_check: bool) -> MontySession:
        """A session to use in a `with` block (its worker returns to the pool at the end)."""
        return self.pool.checkout(limits=LIMITS, type_check=type_check,
                                  type_check_format="concise",
                                  type_check_stubs=self.stubs if type_check else None)

    def feed(self, session: MontySession, source: str) -> Any:
        """Run one snippet: its value, or the exception that is its outcome."""
        from pydantic_monty import MontyError

        try:
            return session.feed_run(source, external_lookup=self.lookup)
        except MontyError as exc:  # runtime, syntax and type errors are outcomes too
            return exc

    def warm(self, *, type_check: bool) -> Runner:
        """One session for every snippet, checked out until `close()`."""
        session: MontySession = self._enter(self.checkout(type_check=type_check))
        return lambda source: self.feed(session, source)

    def fresh(self) -> Runner:
        def run(source: str) -> Any:
            with self.fresh_pool.checkout(limits=LIMITS) as session:
                return self.feed(session, source)

        return run

    def runners(self) -> dict[str, Runner]:
        return {WARM: self.warm(type_check=False), WARM_TY: self.warm(type_check=True),
                FRESH: self.fresh()}

    def self_check(self, snippets: dict[str, str]) -> list[str]:
        """Problems seen running each snippet once in new sessions, with and without ty: an
        error other than the error case's ZeroDivisionError, a wrong loop sum or 10-line
        summary, or a count of tool calls on this side that is not what the snippet makes."""
        problems: list[str] = []
        for type_check in (False, True):
            label = "monty+ty" if type_check else "monty"
            with self.checkout(type_check=type_check) as session:
                for name, source in snippets.items():
                    problems.extend(f"{label}, {name}: {problem}"
                                    for problem in self._check_one(session, source))
        return problems

    def _check_one(self, session: MontySession, source: str) -> list[str]:
        before = self.calls.total()
        error = outcome_error(self.feed(session, source))
        made = self.calls.total() - before
        if error is not None and not error.startswith("ZeroDivisionError"):
            return [error]
        problems = []
        wanted = len(re.findall(r"\b(?:add|get_user)\(", source))
        if "range(10000)" in source:
            wanted = 10_000
        elif "range(1, 5)" in source:
            wanted = 8
        if made != wanted:
            problems.append(f"{made} tool calls on the host, expected {wanted}")
        for variable, value in EXPECTED_VALUES.items():
            if re.search(rf"^{variable} = ", source, re.MULTILINE):
                got = self.feed(session, variable)
                if got != value:
                    problems.append(f"{variable} = {got!r}, expected {value!r}")
        return problems

    def ty_growth(self, source: str, feeds: int, window: int = 20) -> dict[str, float]:
        """Median time of one snippet fed `feeds` times into one session, over the first and
        the last `window` feeds: with ty, and without for comparison."""
        result: dict[str, float] = {"feeds": feeds}
        for label, type_check in (("ty", True), ("no_ty", False)):
            times = []
            with self.checkout(type_check=type_check) as session:
                for _ in range(feeds):
                    started = time.perf_counter()
                    self.feed(session, source)
                    times.append((time.perf_counter() - started) * 1000)
            result[f"{label}_first_ms"] = statistics.median(times[:window])
            result[f"{label}_last_ms"] = statistics.median(times[-window:])
        return result

    def close(self) -> None:
        """End the sessions, then stop the pools' workers (last opened, first closed)."""
        while self._open:
            self._open.pop().__exit__(None, None, None)

    def __enter__(self) -> MontyPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

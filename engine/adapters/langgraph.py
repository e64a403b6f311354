"""An ``eval_fn`` for ``langgraph_codeact.create_codeact``: the graph's code is checked by the
policy and mypy and runs in the engine's sandbox.

    from langgraph_codeact import create_codeact
    from engine.adapters.langgraph import CodeActEval

    graph = create_codeact(model, tools, eval_fn=CodeActEval(policy="default"))

langgraph-codeact hands the eval function the tools (plain functions) and the variables of
earlier turns, and merges the variables it returns into the graph's state. Here the tools
become engine tools (brokered out of the sandbox), variables live in one sandboxed session,
and what goes back to the graph is their exact value, which the graph can checkpoint: plain
data (None, bool, int, float, str, bytes, and lists, tuples, dicts, sets and frozensets of
them) crosses the sandbox boundary as Python literal text, so ``{1: "a"}`` stays int-keyed and
a tuple stays a tuple, both ways. Functions, classes and modules a snippet binds stay in the
session. Any other value stays there too, and is named with the reason in the output (a
``[state]`` line) and in ``CodeActEval.issues``; so is a value of the state that cannot be
given to a snippet exactly, and a value that the checkpointer would not read back as it was
(langgraph's default serializer reads tuples back as lists; ``ExactSerializer`` does not).
A failed snippet returns the engine's structured feedback as the output.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from engine.adapters._bridge import (
    EngineSlot,
    NotLiteralError,
    is_snippet_name,
    literal_text,
    literal_value,
)
from engine.agent.feedback import observation, truncate
from engine.diagnostics import Severity
from engine.offload import interruptible
from engine.pipeline import Isolation
from engine.policy.model import Policy
from engine.results import RunResult
from engine.session import Session
from engine.tools import Tool, ToolRegistry

#: What ``repr`` prints for code rather than data: such names stay in the session, silently.
_CODE = re.compile(r"<(?:function|built-in function|built-in method|bound method|method|"
                   r"class|module) ")
_SHOWN = 60  # characters of a value's text quoted in a reason


@dataclass(frozen=True)
class StateIssue:
    """A variable that does not cross exactly between the session and the graph's state.

    ``to_state``: a snippet's variable; ``stored`` says whether it went into the state anyway
    (its value is exact there, but the checkpointer reads it back changed). ``from_state``: a
    variable of the state that the snippet was not given.
    """

    name: str
    direction: Literal["to_state", "from_state"]
    reason: str
    stored: bool = False

    def __str__(self) -> str:
        if self.direction == "from_state":
            return (f"[state] `{self.name}` from the graph state is not available to the code: "
                    f"{self.reason}")
        if self.stored:
            return f"[state] `{self.name}` is in the graph state, but {self.reason}"
        return (f"[state] `{self.name}` stays in this session only, not in the graph state: "
                f"{self.reason}")


class ExactSerializer:
    """A checkpoint serializer that keeps plain data exactly, as Python literal text, and
    hands anything else to ``inner`` (by default langgraph's ``JsonPlusSerializer``, which
    reads tuples back as lists and sets of tuples back as None). Reading a checkpoint never
    evaluates it: only plain data literals are read.

        saver = MemorySaver(serde=ExactSerializer())
        graph = create_codeact(model, tools, eval_fn=CodeActEval(serde=saver.serde))
    """

    TYPE = "codeact-literal"

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner if inner is not None else _default_serde()

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        try:
            return self.TYPE, literal_text(obj).encode()
        except NotLiteralError:
            return self.inner.dumps_typed(obj)  # type: ignore[no-any-return]

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        kind, body = data
        if kind == self.TYPE:
            return literal_value(body.decode())
        return self.inner.loads_typed(data)

    def dumps(self, obj: Any) -> bytes:
        return self.inner.dumps(obj)  # type: ignore[no-any-return]

    def loads(self, data: bytes) -> Any:
        return self.inner.loads(data)


def _default_serde() -> Any:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    return JsonPlusSerializer()


class CodeActEval:
    """Callable as ``eval_fn(code, _locals) -> (output, new_vars)``; one conversation at a time.

    ``serde`` is the serializer of the graph's checkpointer, against which each value that
    goes into the state is tried: ``"langgraph"`` (the default) for langgraph's own, the
    checkpointer's ``serde`` when it has another, ``None`` when nothing is checkpointed.
    ``issues`` holds what the last call could not carry exactly.
    """

    def __init__(self, policy: Policy | str = "default", *, isolation: Isolation = "seccomp",
                 check_types: bool = True, max_output_chars: int = 4000,
                 serde: Any = "langgraph") -> None:
        self.slot = EngineSlot(policy, isolation, check_types)
        self.max_output_chars = max_output_chars
        self.serde = _default_serde() if serde == "langgraph" else serde
        self.issues: tuple[StateIssue, ...] = ()
        self._lock = threading.Lock()
        self._tools: dict[str, Callable[..., Any]] = {}
        # For each variable of the session that the state holds: the literal texts of the
        # state's value that mean "the session has it already" (the exact value, and what the
        # checkpointer reads back for it).
        self._known: dict[str, frozenset[str]] = {}
        self._told: set[str] = set()  # [state] lines already shown

    def _session_for(self, tools: dict[str, Callable[..., Any]]) -> Session:
        if self.slot.session is None or tools != self._tools:
            self._tools = dict(tools)
            self._known = {}
            return self.slot.open(ToolRegistry([Tool(f, name=n) for n, f in tools.items()]))
        return self.slot.session

    async def aeval(self, code: str, _locals: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The same as a coroutine, for a graph driven by ``ainvoke``/``astream``: pass
        ``eval_fn=evaluate.aeval`` (langgraph-codeact makes an async node of a coroutine
        function). The snippet runs on a worker thread; the event loop goes on. Cancelling
        the node (a graph run cancelled or timed out) interrupts the snippet."""
        return await interruptible(lambda: self(code, _locals), self._interrupt)

    def _interrupt(self) -> None:
        session = self.slot.session
        if session is not None:
            session.interrupt()

    def __call__(self, code: str, _locals: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        tools = {k: v for k, v in _locals.items() if callable(v) and not isinstance(v, type)}
        issues: list[StateIssue] = []
        with self._lock:
            session = self._session_for(tools)
            self._send(session, {k: v for k, v in _locals.items() if k not in tools}, issues)
            result = session.run(code)
            new_vars = self._collect(session, result, issues) if result.ok else {}
        self.issues = tuple(issues)
        before, after = self._notes("from_state"), self._notes("to_state")
        if not result.ok:
            output = observation(result, "structured", self.max_output_chars)
            return truncate(before + output, self.max_output_chars), {}
        output = result.stdout + result.stderr
        if result.value is not None:
            output += f"{result.value!r}\n"
        output = before + output + after
        return truncate(output or "(no output)\n", self.max_output_chars), new_vars

    def _notes(self, direction: str) -> str:
        """The ``[state]`` lines of the last call not shown before, one a line."""
        notes = [str(i) for i in self.issues if i.direction == direction]
        fresh = [n for n in dict.fromkeys(notes) if n not in self._told]
        self._told.update(fresh)
        return "".join(f"{n}\n" for n in fresh)

    def _send(self, session: Session, state: Mapping[str, Any],
              issues: list[StateIssue]) -> None:
        """Bind in the session each variable of the state it does not hold already."""
        pending: dict[str, str] = {}
        for name, value in state.items():
            if not is_snippet_name(name):
                issues.append(StateIssue(name, "from_state", "it is not a name code can use"))
                continue
            try:
                text = literal_text(value)
            except NotLiteralError as exc:
                issues.append(StateIssue(name, "from_state", str(exc)))
                continue
            if text not in self._known.get(name, ()):
                pending[name] = text
        if not pending:
            return
        result = session.run("\n".join(f"{n} = {t}" for n, t in pending.items()))
        if result.ok:
            self._known.update((n, frozenset({t})) for n, t in pending.items())
            return
        for name, text in pending.items():  # which of them the sandbox does not take
            single = session.run(f"{name} = {text}") if len(pending) > 1 else result
            if single.ok:
                self._known[name] = frozenset({text})
            else:
                issues.append(StateIssue(name, "from_state",
                                         f"the sandbox refused it: {_problems(single)}"))

    def _collect(self, session: Session, result: RunResult,
                 issues: list[StateIssue]) -> dict[str, Any]:
        """The session's data variables that are new or changed (in place too), exactly."""
        # The names come from the child: only identifiers go into the snippet that reads them.
        names = [n for n in dict.fromkeys([*result.names, *self._known])
                 if is_snippet_name(n) and _may_be_data(session, n)]
        new_vars: dict[str, Any] = {}
        for name, text in self._fetch(session, names, set(result.names), issues).items():
            if _CODE.match(text):
                continue
            try:
                value = literal_value(text)
            except NotLiteralError as exc:
                issues.append(StateIssue(name, "to_state", f"{exc}; it is {_quote(text)}"))
                continue
            exact = literal_text(value)
            if exact in self._known.get(name, ()):
                continue  # the state has it already
            readback = self._try_checkpoint(name, value, exact, issues)
            if readback is not None:
                new_vars[name] = value
                self._known[name] = frozenset({exact, readback})
        return new_vars

    def _fetch(self, session: Session, names: list[str], bound: set[str],
               issues: list[StateIssue]) -> dict[str, str]:
        """Each variable's ``repr`` from the session: one snippet, or one per name when that
        fails (a value too large, a ``__repr__`` that raises). A variable the snippet did not
        bind that cannot be read is gone (``del``): the state's value is given back next
        time."""
        if not names:
            return {}
        batch = session.run("final_answer([" + ", ".join(f"repr({n})" for n in names) + "])")
        texts = batch.value if batch.ok else None
        if (isinstance(texts, list) and len(texts) == len(names)
                and all(isinstance(t, str) for t in texts)):
            return dict(zip(names, texts, strict=True))
        found: dict[str, str] = {}
        for name in names:
            single = session.run(f"final_answer(repr({name}))")
            if single.ok and isinstance(single.value, str):
                found[name] = single.value
            elif name in bound:
                issues.append(StateIssue(name, "to_state",
                                         f"it could not be read: {_problems(single)}"))
            else:
                self._known.pop(name, None)
        return found

    def _try_checkpoint(self, name: str, value: Any, exact: str,
                        issues: list[StateIssue]) -> str | None:
        """The literal text the checkpointer reads ``value`` back as, when the value may go
        into the state (exactly, or with only its tuples read back as lists); else None."""
        if self.serde is None:
            return exact
        try:
            image = self.serde.loads_typed(self.serde.dumps_typed(value))
            if isinstance(self.serde, ExactSerializer):
                # A checkpoint's metadata repeats each step's writes, messages among them, so
                # it is written by the inner serializer: the value must not break that.
                self.serde.inner.dumps_typed(value)
        except Exception as exc:  # whatever the serializer raises, the value is not stored
            issues.append(StateIssue(name, "to_state", f"the checkpointer cannot store it "
                                     f"({type(exc).__name__}: {exc})"))
            return None
        try:
            readback = literal_text(image)
        except NotLiteralError:
            readback = f"a {type(image).__name__}"
        if readback == exact:
            return exact
        if readback == literal_text(_lists_for_tuples(value)):
            issues.append(StateIssue(
                name, "to_state", "the checkpointer reads tuples back as lists: a resumed "
                f"thread gets {_quote(readback)} (checkpoint with ExactSerializer to keep "
                "tuples)", stored=True))
            return readback
        issues.append(StateIssue(name, "to_state",
                                 f"the checkpointer would read it back as {_quote(readback)}"))
        return None

    def close(self) -> None:
        self.slot.close()


def _may_be_data(session: Session, name: str) -> bool:
    binding = session.context.get(name)
    return binding is None or binding.kind == "value"


def _lists_for_tuples(value: Any) -> Any:
    """``value`` with its tuples as lists, as langgraph's serializer reads them back (a dict's
    keys and a set's members, which must stay hashable, are left alone)."""
    if type(value) in (list, tuple):
        return [_lists_for_tuples(v) for v in value]
    if type(value) is dict:
        return {k: _lists_for_tuples(v) for k, v in value.items()}
    return value


def _quote(text: str) -> str:
    return f"`{text}`" if len(text) <= _SHOWN else f"`{text[:_SHOWN]}...`"


def _problems(result: RunResult) -> str:
    errors = [d.message for d in result.diagnostics if d.severity is Severity.ERROR]
    return "; ".join(errors) or "it failed"


__all__ = ["CodeActEval", "ExactSerializer", "StateIssue"]

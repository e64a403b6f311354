"""An ``eval_fn`` for ``langgraph_codeact.create_codeact``: the graph's code is checked by the
policy and mypy and runs in the engine's sandbox.

    from langgraph_codeact import create_codeact
    from engine.adapters.langgraph import CodeActEval

    graph = create_codeact(model, tools, eval_fn=CodeActEval(policy="default"))

langgraph-codeact hands the eval function the tools (plain functions) and the variables of
earlier turns, and merges the variables it returns into the graph's state. Here the tools
become engine tools (brokered out of the sandbox), variables live in one sandboxed session,
and what goes back to the graph is their value as data (JSON-like), which the graph can
checkpoint. A failed snippet returns the engine's structured feedback as the output.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from engine.adapters._bridge import SandboxSlot, assign
from engine.agent.feedback import observation, truncate
from engine.pipeline import Isolation
from engine.policy.model import Policy
from engine.session import Session
from engine.tools import Tool, ToolRegistry


class CodeActEval:
    """Callable as ``eval_fn(code, _locals) -> (output, new_vars)``; one conversation at a time."""

    def __init__(self, policy: Policy | str = "default", *, isolation: Isolation = "seccomp",
                 check_types: bool = True, max_output_chars: int = 4000) -> None:
        self.sandbox = SandboxSlot(policy, isolation, check_types)
        self.max_output_chars = max_output_chars
        self._lock = threading.Lock()
        self._tools: dict[str, Callable[..., Any]] = {}
        self._known: dict[str, Any] = {}  # what the session holds, as last sent or returned

    def _session_for(self, tools: dict[str, Callable[..., Any]]) -> Session:
        if self.sandbox.session is None or tools != self._tools:
            self._tools = dict(tools)
            self._known = {}
            return self.sandbox.open(ToolRegistry([Tool(f, name=n) for n, f in tools.items()]))
        return self.sandbox.session

    def __call__(self, code: str, _locals: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        tools = {k: v for k, v in _locals.items() if callable(v) and not isinstance(v, type)}
        with self._lock:
            session = self._session_for(tools)
            stale = {k: v for k, v in _locals.items()
                     if k not in tools and (k not in self._known or self._known[k] != v)}
            for name in assign(session, stale):
                self._known[name] = stale[name]
            result = session.run(code)
            if not result.ok:
                return observation(result, "structured", self.max_output_chars), {}
            new_vars: dict[str, Any] = {}
            for name in result.names:
                fetched = session.run(f"final_answer({name})")
                if fetched.ok:  # functions and other non-data stay in the sandbox only
                    new_vars[name] = self._known[name] = fetched.value
        output = result.stdout + result.stderr
        if result.value is not None:
            output += f"{result.value!r}\n"
        return truncate(output or "(no output)\n", self.max_output_chars), new_vars

    def close(self) -> None:
        self.sandbox.close()

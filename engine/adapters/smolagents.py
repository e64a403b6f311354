"""A smolagents executor: a ``CodeAgent``'s code is checked by the policy and mypy and runs in
the engine's sandbox, with the agent's tools brokered to the trusted side.

    from smolagents import CodeAgent
    from engine.adapters.smolagents import CodeActExecutor

    agent = CodeAgent(tools=[...], model=model, executor=CodeActExecutor(policy="default"))

A snippet that fails (any stage) raises ``CodeActExecutionError`` whose message is the
engine's structured feedback; smolagents shows it to the model as the step's error.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any

from smolagents import Tool as SmolTool
from smolagents.local_python_executor import CodeOutput, PythonExecutor

from engine.adapters._bridge import assign, typed_function
from engine.agent.feedback import observation
from engine.pipeline import Engine, Isolation
from engine.policy.model import Policy
from engine.session import Session
from engine.tools import Tool, ToolRegistry

_TYPES: dict[str, Any] = {
    "string": str, "integer": int, "number": float, "boolean": bool,
    "array": list[Any], "object": dict[str, Any], "any": Any, "null": None,
}


class CodeActExecutionError(Exception):
    """The snippet did not succeed; the message is what the model should read."""


def engine_tool(tool: SmolTool) -> Tool:
    """A smolagents tool as an engine tool, with a signature built from its ``inputs``."""
    params = []
    for name, spec in tool.inputs.items():
        kind = spec.get("type", "any")
        annotation = _TYPES.get(kind if isinstance(kind, str) else "any", Any)
        if spec.get("nullable"):
            params.append(inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                            annotation=annotation | None, default=None))
        else:
            params.append(inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                            annotation=annotation))
    params.sort(key=lambda p: p.default is not inspect.Parameter.empty)  # defaults last
    returns = _TYPES.get(tool.output_type, Any)

    def call(**arguments: Any) -> Any:
        return tool(**arguments, sanitize_inputs_outputs=True)

    return Tool(typed_function(tool.name, tool.description, params, returns, call))


class CodeActExecutor(PythonExecutor):  # type: ignore[misc]
    def __init__(self, policy: Policy | str = "default", *, isolation: Isolation = "seccomp",
                 check_types: bool = True, max_observation_chars: int = 4000) -> None:
        self.policy = policy if isinstance(policy, Policy) else Policy.load(policy)
        self.isolation: Isolation = isolation
        self.check_types = check_types
        self.max_observation_chars = max_observation_chars
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._session: Session | None = None
        self._pending: dict[str, Any] = {}

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self.send_tools({})
        assert self._engine is not None
        return self._engine

    def send_tools(self, tools: dict[str, SmolTool]) -> None:
        # final_answer is the engine's own helper; the agent's FinalAnswerTool is not needed.
        registry = ToolRegistry([engine_tool(t) for name, t in tools.items()
                                 if name != "final_answer"])
        with self._lock:
            self._close()
            self._engine = Engine(registry, self.policy, isolation=self.isolation,
                                  check_types=self.check_types)
            self._session = self._engine.session()
            pending, self._pending = self._pending, {}
        if pending:
            self.send_variables(pending)

    def send_variables(self, variables: dict[str, Any]) -> None:
        with self._lock:
            if self._session is None:
                self._pending.update(variables)  # the agent sends variables before tools
                return
            assign(self._session, variables)

    def __call__(self, code_action: str) -> CodeOutput:
        with self._lock:
            if self._session is None:
                self._engine = Engine(ToolRegistry(), self.policy, isolation=self.isolation,
                                      check_types=self.check_types)
                self._session = self._engine.session()
            result = self._session.run(code_action)
        if not result.ok:
            raise CodeActExecutionError(observation(result, "structured",
                                                    self.max_observation_chars))
        return CodeOutput(output=result.value, logs=result.stdout + result.stderr,
                          is_final_answer=result.final)

    def _close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def cleanup(self) -> None:
        with self._lock:
            self._close()

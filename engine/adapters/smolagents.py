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

from engine.adapters._bridge import SandboxSlot, assign, typed_function
from engine.agent.feedback import observation
from engine.pipeline import Isolation
from engine.policy.model import Policy
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
        self.sandbox = SandboxSlot(policy, isolation, check_types)
        self.max_observation_chars = max_observation_chars
        self._lock = threading.Lock()
        self._pending: dict[str, Any] = {}

    def send_tools(self, tools: dict[str, SmolTool]) -> None:
        # final_answer is the engine's own helper; the agent's FinalAnswerTool is not needed.
        registry = ToolRegistry([engine_tool(t) for name, t in tools.items()
                                 if name != "final_answer"])
        with self._lock:
            self.sandbox.open(registry)
            pending, self._pending = self._pending, {}
        if pending:
            self.send_variables(pending)

    def send_variables(self, variables: dict[str, Any]) -> None:
        with self._lock:
            if self.sandbox.session is None:
                self._pending.update(variables)  # the agent sends variables before tools
                return
            assign(self.sandbox.session, variables)

    def __call__(self, code_action: str) -> CodeOutput:
        with self._lock:
            session = self.sandbox.session or self.sandbox.open(ToolRegistry())
            result = session.run(code_action)
        if not result.ok:
            raise CodeActExecutionError(observation(result, "structured",
                                                    self.max_observation_chars))
        return CodeOutput(output=result.value, logs=result.stdout + result.stderr,
                          is_final_answer=result.final)

    def cleanup(self) -> None:
        with self._lock:
            self.sandbox.close()

"""A smolagents executor: a ``CodeAgent``'s code is checked by the policy and mypy and runs in
the engine's sandbox, with the agent's tools brokered to the trusted side.

    from smolagents import CodeAgent
    from engine.adapters.smolagents import CodeActExecutor, SandboxedCodeAgent

    agent = CodeAgent(tools=[...], model=model, executor=CodeActExecutor(policy="default"))
    agent = SandboxedCodeAgent(tools=[...], model=model, policy="default",
                               additional_authorized_imports=["decimal"])

A snippet that fails (any stage) raises ``CodeActExecutionError`` whose message is the
engine's structured feedback; smolagents shows it to the model as the step's error.

``additional_authorized_imports`` are added to the policy's ``imports.allow``, so the policy
check, the type check and the sandbox all accept them, and the rules a model is shown list
them. Given to ``CodeActExecutor`` or ``SandboxedCodeAgent`` they are checked at
construction; given to a plain ``CodeAgent`` (which keeps them from an executor it did not
build) the executor reads them from the agent when the run starts. A module that cannot be
honoured (``"*"``, ``"pkg.*"``, a module this Python cannot import, one the engine keeps from
snippets such as ``os``) raises ``PolicyError`` naming it: such imports belong in the policy
file's ``[imports] allow``.
"""

from __future__ import annotations

import inspect
import sys
import threading
from collections.abc import Iterable
from typing import Any

from smolagents import CodeAgent
from smolagents import Tool as SmolTool
from smolagents.local_python_executor import CodeOutput, PythonExecutor

from engine.adapters._bridge import EngineSlot, assign, typed_function, widen_imports
from engine.agent.feedback import observation
from engine.pipeline import Isolation
from engine.policy.model import Policy
from engine.policy.prompt import render_prompt_rules
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
    """Runs a ``CodeAgent``'s code through the engine, under ``policy`` widened by
    ``additional_authorized_imports`` (``PolicyError`` for a module that cannot be added)."""

    def __init__(self, policy: Policy | str = "default", *,
                 additional_authorized_imports: Iterable[str] = (),
                 isolation: Isolation = "seccomp", check_types: bool = True,
                 max_observation_chars: int = 4000) -> None:
        base = policy if isinstance(policy, Policy) else Policy.load(policy)
        widened = widen_imports(base, additional_authorized_imports,
                                origin="additional_authorized_imports")
        self.slot = EngineSlot(widened, isolation, check_types)
        self.max_observation_chars = max_observation_chars
        self._lock = threading.Lock()
        self._pending: dict[str, Any] = {}

    @property
    def policy(self) -> Policy:
        """The policy snippets run under, imports added."""
        return self.slot.policy

    @property
    def prompt_rules(self) -> str:
        """The policy as rules for a model's prompt (the modules it may import among them)."""
        return render_prompt_rules(self.policy)

    def authorize_imports(self, modules: Iterable[str], *, origin: str) -> None:
        """Add ``modules`` to the policy (``PolicyError`` if one cannot be); the session, if
        one is open, is replaced by the next ``send_tools``."""
        with self._lock:
            self.slot.policy = widen_imports(self.slot.policy, modules, origin=origin)

    def send_tools(self, tools: dict[str, SmolTool]) -> None:
        agent = _calling_agent(self)
        if agent is not None:  # a CodeAgent keeps these from an executor it did not build
            self.authorize_imports(agent.additional_authorized_imports or (),
                                   origin="CodeAgent(additional_authorized_imports=...)")
        # final_answer is the engine's own helper; the agent's FinalAnswerTool is not needed.
        registry = ToolRegistry([engine_tool(t) for name, t in tools.items()
                                 if name != "final_answer"])
        with self._lock:
            self.slot.open(registry)
            pending, self._pending = self._pending, {}
        if pending:
            self.send_variables(pending)

    def send_variables(self, variables: dict[str, Any]) -> None:
        with self._lock:
            if self.slot.session is None:
                self._pending.update(variables)  # the agent sends variables before tools
                return
            assign(self.slot.session, variables)

    def __call__(self, code_action: str) -> CodeOutput:
        with self._lock:
            session = self.slot.session or self.slot.open(ToolRegistry())
            result = session.run(code_action)
        if not result.ok:
            raise CodeActExecutionError(observation(result, "structured",
                                                    self.max_observation_chars))
        return CodeOutput(output=result.value, logs=result.stdout + result.stderr,
                          is_final_answer=result.final)

    def cleanup(self) -> None:
        with self._lock:
            self.slot.close()


def _calling_agent(executor: CodeActExecutor) -> Any:
    """The ``CodeAgent`` whose run is sending its tools to ``executor``, if that is the caller.

    smolagents gives an executor the agent's ``additional_authorized_imports`` only when the
    agent builds the executor; one passed in as ``executor=`` would never see them. The agent
    calls ``send_tools`` from its ``run``, before any code runs, so they are read from there.
    """
    frame = sys._getframe(1).f_back  # _calling_agent <- send_tools <- the caller
    for _ in range(3):  # a subclass's send_tools may sit in between
        if frame is None:
            break
        caller = frame.f_locals.get("self")
        if isinstance(caller, CodeAgent) and caller.python_executor is executor:
            return caller
        frame = frame.f_back
    return None


class SandboxedCodeAgent(CodeAgent):  # type: ignore[misc]
    """A ``CodeAgent`` whose code runs through the engine: it builds its ``CodeActExecutor``
    from ``policy`` and ``additional_authorized_imports`` (as smolagents' own executors are
    built from them), so a module that cannot be added fails here, at construction; and its
    system prompt lists the modules the policy allows, followed by the policy's rules.

    ``executor_kwargs`` go to ``CodeActExecutor`` (``isolation``, ``check_types``...). A
    ``CodeActExecutor`` given as ``executor`` gets the imports added to its policy.
    """

    def __init__(self, tools: list[SmolTool], model: Any, *, policy: Policy | str = "default",
                 **kwargs: Any) -> None:
        self.engine_policy = policy
        given = kwargs.get("executor")
        if kwargs.get("executor_type", "local") != "local":
            raise ValueError("SandboxedCodeAgent runs code in the engine's sandbox; "
                             "executor_type is not used")
        if isinstance(given, CodeActExecutor):
            given.authorize_imports(kwargs.get("additional_authorized_imports") or (),
                                    origin="additional_authorized_imports")
        super().__init__(tools, model, **kwargs)

    def create_python_executor(self) -> CodeActExecutor:
        return CodeActExecutor(self.engine_policy,
                               additional_authorized_imports=self.additional_authorized_imports,
                               **self.executor_kwargs)

    def initialize_system_prompt(self) -> str:
        executor = getattr(self, "python_executor", None)
        if not isinstance(executor, CodeActExecutor):  # not built yet: nothing runs before
            return super().initialize_system_prompt()  # type: ignore[no-any-return]
        self.authorized_imports = sorted(executor.policy.allowed_modules)
        prompt = super().initialize_system_prompt()
        return f"{prompt}\n\nRules your code must follow (checked before it runs):\n" \
            f"{executor.prompt_rules}"

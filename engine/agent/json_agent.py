"""The baseline the seed compares against: native JSON tool calling, one call per step.

The same tools, from the same registry, as JSON schemas; each step the model asks for one
tool call and sees its (truncated) JSON result. No code runs, so no sandbox is needed: the
calls are validated against the signatures and made on the trusted side.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from engine.agent.feedback import truncate
from engine.agent.loop import Agent, AgentAnswer, parse_answer
from engine.agent.model import ModelError, ToolCallRequest
from engine.agent.schemas import tool_definitions
from engine.agent.templates import render
from engine.agent.transcript import TranscriptWriter, TurnRecord
from engine.errors import ToolArgumentError, ToolResultError
from engine.policy.permissions import ToolPermissions
from engine.results import ToolCall


class JsonToolAgent(Agent):
    mode = "json"

    def _call(self, request: ToolCallRequest) -> tuple[str, ToolCall]:
        import time

        name, arguments = request.name, request.arguments
        registry = self.engine.registry
        started = time.perf_counter()
        if request.malformed is not None:
            message = render("json.malformed", name=name, arguments=request.malformed[:200])
            return message, ToolCall(tool=name, ok=False, duration_ms=0.0, error=message)
        if name not in registry:
            message = render("json.unknown_tool", name=name, names=", ".join(registry.names))
            return message, ToolCall(tool=name, ok=False, duration_ms=0.0, error=message)
        tool = registry[name]
        try:
            bound = tool.validate_arguments([], dict(arguments))
            refused = self._refused(name, bound.arguments)
            if refused is not None:
                return (render("json.tool_error", message=refused),
                        ToolCall(tool=name, ok=False, duration_ms=0.0, error=refused))
            text = tool.dump_result(tool.func(*bound.args, **bound.kwargs)).decode()
        except (ToolArgumentError, ToolResultError) as exc:
            message = render("json.tool_error", message=str(exc))
            return message, ToolCall(tool=name, ok=False, duration_ms=0.0, error=str(exc))
        except Exception as exc:  # the tool failed: the model sees it, as in CodeAct
            message = render("json.tool_error", message=f"{type(exc).__name__}: {exc}")
            return message, ToolCall(tool=name, ok=False, duration_ms=0.0,
                                     error=f"{type(exc).__name__}: {exc}")
        elapsed = round((time.perf_counter() - started) * 1000, 3)
        return (truncate(text, self.max_observation_chars),
                ToolCall(tool=name, ok=True, duration_ms=elapsed))

    def _refused(self, name: str, arguments: dict[str, Any]) -> str | None:
        """The policy's ``[tools]`` rules, as the broker applies them to a snippet's calls;
        without snippets, ``calls`` counts the calls of the whole run."""
        permissions = ToolPermissions.of(self.engine.policy)
        if permissions is None:
            return None
        counts: dict[str, int] = self.__dict__.setdefault("_calls_by_tool", {})
        calls = counts.get(name, 0)
        why = permissions.over_limit(name, calls) or permissions.refused_argument(name,
                                                                                  arguments)
        if why is None:
            counts[name] = calls + 1
        return why

    def _loop(self, task: str, records: list[TurnRecord],
              writer: TranscriptWriter | None) -> AgentAnswer:
        self.__dict__["_calls_by_tool"] = {}  # a run's calls, by tool
        definitions = tool_definitions(self.engine.registry)
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": render("json_system")},
            {"role": "user", "content": render("task", task=task)},
        ]
        for turn in range(1, self.max_turns + 1):
            if self.hooks.on_turn_start:
                self.hooks.on_turn_start(turn)
            try:
                reply, model_ms = self._chat(messages, definitions)
            except ModelError as exc:
                self._record(TurnRecord(turn=turn, error=str(exc)), records, writer)
                return AgentAnswer(None, "model_error", turn, error=str(exc))
            record = self._turn(turn, reply, model_ms, requested_calls=[
                {"name": c.name, "arguments": c.arguments} for c in reply.tool_calls])
            if not reply.tool_calls:
                record.value, record.final = parse_answer(reply.content.strip()), True
                self._record(record, records, writer)
                return AgentAnswer(record.value, "answered", turn)
            request = reply.tool_calls[0]  # one call per step: the paradigm measured
            content, call = self._call(request)
            # The history holds only the call that was made: servers that match results to
            # calls by id want one result for each call in the assistant's message.
            made = dataclasses.replace(reply, tool_calls=(request,))
            messages.append(self.model.assistant_message(made))
            messages.append(self.model.tool_message(request, content))
            record.tool_calls = [call]
            record.executed, record.ok = True, call.ok
            record.observation = content
            self._record(record, records, writer)
        return AgentAnswer(None, "max_turns", self.max_turns)

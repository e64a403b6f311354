"""The baseline the seed compares against: native JSON tool calling, one call per step.

The same tools, from the same registry, as JSON schemas; each step the model asks for one
tool call and sees its (truncated) JSON result. No code runs, so no sandbox is needed: the
calls go through the same broker as a snippet's (validated against the signatures and the
policy's tool rules, bounded in time and size) on the trusted side.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from engine.agent.feedback import truncate
from engine.agent.loop import Agent, AgentAnswer, parse_answer
from engine.agent.model import Model, ModelError, ToolCallRequest
from engine.agent.schemas import tool_definitions
from engine.agent.templates import render
from engine.agent.transcript import TranscriptWriter, TurnRecord
from engine.policy.permissions import ToolPermissions
from engine.results import ToolCall
from engine.sandbox.broker import ToolBroker
from engine.sandbox.protocol import ToolStatus

if TYPE_CHECKING:
    from engine.pipeline import Engine


class JsonToolAgent(Agent):
    mode = "json"

    def __init__(self, engine: Engine, model: Model, **options: Any) -> None:
        super().__init__(engine, model, **options)
        self._broker = self._new_broker()

    def _new_broker(self) -> ToolBroker:
        # One broker for a run: without snippets, the policy's per-snippet limits (calls,
        # calls per tool, traffic) bound the whole run.
        return ToolBroker(self.engine.registry, self.engine.policy.limits,
                          permissions=ToolPermissions.of(self.engine.policy))

    def _call(self, request: ToolCallRequest) -> tuple[str, ToolCall]:
        """Make one call the model asked for, through the same broker that serves snippets'
        calls (validation, the policy's ``[tools]`` rules, timeouts, result limits), and say
        what came of it in the words the model reads."""
        name = request.name
        if request.malformed is not None:
            message = render("json.malformed", name=name, arguments=request.malformed[:200])
            return message, ToolCall(tool=name, ok=False, duration_ms=0.0, error=message)
        if name not in self.engine.registry:
            message = render("json.unknown_tool", name=name,
                             names=", ".join(self.engine.registry.names))
            return message, ToolCall(tool=name, ok=False, duration_ms=0.0, error=message)
        broker = self._broker
        made = len(broker.calls)
        reply = broker.handle(json.dumps({"tool": name, "args": [],
                                          "kwargs": request.arguments}).encode())
        broker.resume()
        status, body = reply[0], reply[1:]
        record = broker.calls[-1].public() if len(broker.calls) > made else None
        if status == ToolStatus.OK:
            assert record is not None
            return truncate(body.decode(), self.max_observation_chars), record
        error = json.loads(body)
        message = (f"{error['type']}: {error['message']}" if status == ToolStatus.TOOL_ERROR
                   else str(error["message"]))
        return (render("json.tool_error", message=message),
                record or ToolCall(tool=name, ok=False, duration_ms=0.0, error=message))

    def _loop(self, task: str, records: list[TurnRecord],
              writer: TranscriptWriter | None) -> AgentAnswer:
        self._broker = self._new_broker()
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

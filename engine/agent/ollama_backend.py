"""A model served by Ollama, through the official ``ollama`` client.

Ollama's tool definitions are narrower than JSON Schema: the client validates each parameter
with a model that keeps only ``type``, ``items``, ``description`` and ``enum``, dropping
``anyOf`` and the fields of nested objects. So here a union becomes a list of types and an
object parameter carries its fields in its description. That flattening is what native tool
calling costs for nested types on Ollama.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import ollama

from engine.agent.model import (
    Message,
    ModelError,
    ModelReply,
    Timings,
    TokenUsage,
    ToolCallRequest,
    ToolDefinition,
)

DEFAULT_HOST = "http://127.0.0.1:11434"


@dataclass
class OllamaModel:
    """A model served by Ollama. ``host`` defaults to ``$OLLAMA_HOST``, then localhost.

    ``options`` go to Ollama as they are (``temperature``, ``seed``, ``num_ctx``,
    ``num_predict``...). With ``stream=True`` the text arrives piece by piece through
    ``on_text`` (the CLI shows it live).
    """

    name: str
    host: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    timeout: float = 300.0
    stream: bool = True
    keep_alive: str | None = None

    def __post_init__(self) -> None:
        self.host = self.host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST
        self._client = ollama.Client(host=self.host, timeout=self.timeout)
        self._calls = 0

    def chat(self, messages: Sequence[Message], tools: Sequence[ToolDefinition] | None = None,
             *, response_format: Mapping[str, Any] | None = None,
             on_text: Callable[[str], None] | None = None) -> ModelReply:
        request: dict[str, Any] = dict(
            model=self.name, messages=list(messages),
            tools=[ollama_tool(t) for t in tools or ()] or None,
            format=dict(response_format) if response_format is not None else None,
            options=self.options or None, keep_alive=self.keep_alive)
        try:
            if self.stream:
                return self._streamed(request, on_text)
            response = self._client.chat(**request, stream=False)
            if on_text is not None and response.message.content:
                on_text(response.message.content)
            return self._reply(response, response.message.content or "",
                               self._tool_calls(response.message))
        except (ConnectionError, httpx.ConnectError):
            raise ModelError("unreachable", (
                f"no Ollama server answers at {self.host}. Start one with `ollama serve` and "
                f"pull the model with `ollama pull {self.name}`, or point --host / OLLAMA_HOST "
                "at a running server."
            )) from None
        except ollama.ResponseError as exc:
            if exc.status_code == 404:
                raise ModelError("model-not-found", (
                    f"the Ollama server at {self.host} does not have the model "
                    f"{self.name!r} ({exc.error}). Pull it with `ollama pull {self.name}`."
                )) from None
            raise ModelError("bad-response",
                             f"the Ollama server answered {exc.status_code}: {exc.error}") from None
        except httpx.TimeoutException:
            raise ModelError("timeout", (
                f"the model {self.name!r} did not answer within {self.timeout:g} s; a first "
                "request also loads the model, so try again or raise the timeout."
            )) from None
        except (httpx.HTTPError, ValueError) as exc:
            raise ModelError("bad-response", f"talking to Ollama failed: {exc}") from None

    def assistant_message(self, reply: ModelReply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            message["tool_calls"] = [{"function": {"name": c.name, "arguments": c.arguments}}
                                     for c in reply.tool_calls]
        return message

    def tool_message(self, call: ToolCallRequest, content: str) -> dict[str, Any]:
        # Ollama matches a result to its call by the tool's name: its calls carry no id.
        return {"role": "tool", "content": content, "tool_name": call.name}

    def _streamed(self, request: dict[str, Any],
                  on_text: Callable[[str], None] | None) -> ModelReply:
        parts: list[str] = []
        calls: list[ToolCallRequest] = []
        last: Any = None
        chunks: Iterator[Any] = self._client.chat(**request, stream=True)
        for chunk in chunks:
            text = chunk.message.content or ""
            if text:
                parts.append(text)
                if on_text is not None:
                    on_text(text)
            calls.extend(self._tool_calls(chunk.message))
            last = chunk
        if last is None:
            raise ModelError("bad-response", "the Ollama server sent an empty stream")
        return self._reply(last, "".join(parts), tuple(calls))

    def _tool_calls(self, message: Any) -> tuple[ToolCallRequest, ...]:
        found: list[ToolCallRequest] = []
        for call in getattr(message, "tool_calls", None) or []:
            self._calls += 1
            found.append(ToolCallRequest(f"call_{self._calls}", call.function.name,
                                         dict(call.function.arguments or {})))
        return tuple(found)

    @staticmethod
    def _reply(final: Any, content: str, calls: tuple[ToolCallRequest, ...]) -> ModelReply:
        timings = Timings(total_ms=_ms(final.total_duration), load_ms=_ms(final.load_duration),
                          prompt_eval_ms=_ms(final.prompt_eval_duration),
                          eval_ms=_ms(final.eval_duration))
        usage = TokenUsage(prompt_tokens=final.prompt_eval_count or 0,
                      completion_tokens=final.eval_count or 0, timings=timings)
        return ModelReply(content=content, tool_calls=calls, usage=usage,
                          done_reason=final.done_reason)


def _ms(nanoseconds: int | None) -> float:
    return (nanoseconds or 0) / 1_000_000


def ollama_tool(definition: ToolDefinition) -> dict[str, Any]:
    """``definition`` in the shape Ollama keeps: flat parameters, see the module's doc."""
    parameters = definition.parameters
    properties = {name: _flat_property(schema)
                  for name, schema in dict(parameters.get("properties", {})).items()}
    return {"type": "function", "function": {
        "name": definition.name, "description": definition.description,
        "parameters": {"type": "object", "properties": properties,
                       "required": list(parameters.get("required", []))}}}


def _types(schema: Mapping[str, Any]) -> list[str]:
    if "anyOf" in schema:
        return [t for s in schema["anyOf"] for t in _types(s)]
    kind = schema.get("type")
    if isinstance(kind, list):
        return [str(k) for k in kind]
    if kind:
        return [str(kind)]
    if "enum" in schema:
        return sorted({"string" if isinstance(v, str) else "integer" for v in schema["enum"]})
    return ["object"]


def _flat_property(schema: Mapping[str, Any]) -> dict[str, Any]:
    types = list(dict.fromkeys(_types(schema)))
    prop: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    description = str(schema.get("description", ""))
    for variant in schema.get("anyOf", [schema]):
        if "enum" in variant:
            prop["enum"] = variant["enum"]
        if variant.get("type") == "array" and "items" in variant:
            prop["items"] = variant["items"]
        if variant.get("type") == "object" and "properties" in variant:
            fields = json.dumps(dict(variant["properties"]), separators=(",", ":"))
            description = (description + " " if description else "") + f"object fields: {fields}"
    if description:
        prop["description"] = description
    return prop

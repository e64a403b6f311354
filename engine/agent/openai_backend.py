"""A model behind an OpenAI-compatible chat API: llama.cpp's ``llama-server``, vLLM,
LM Studio, or Ollama's own ``/v1`` endpoint. Uses the official ``openai`` client (the
``openai`` extra: ``pip install 'codeact-engine[openai]'``).

``host`` is the server's URL, with or without the ``/v1`` suffix. Local servers ignore the
API key; ``$OPENAI_API_KEY`` is sent when it is set (a vLLM started with ``--api-key``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.agent.model import (
    Message,
    ModelError,
    ModelReply,
    TokenUsage,
    ToolCallRequest,
    ToolDefinition,
)

if TYPE_CHECKING:
    import openai

DEFAULT_HOST = "http://127.0.0.1:8080"  # llama-server's default port

#: Ollama-style option names that the OpenAI API has under another name.
_RENAMED = {"num_predict": "max_tokens"}
_NATIVE = {"temperature", "seed", "top_p", "max_tokens", "stop", "frequency_penalty",
           "presence_penalty"}


@dataclass
class OpenAIModel:
    """A model on an OpenAI-compatible server (see the module's doc).

    ``options`` take the same names as ``OllamaModel``'s where the API has them
    (``temperature``, ``seed``, ``top_p``, ``num_predict`` as ``max_tokens``); other names go
    to the server in the request body as they are (llama-server and vLLM read sampling
    settings such as ``top_k`` there). The context size is the server's own setting.
    """

    name: str
    host: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    timeout: float = 300.0
    stream: bool = True
    api_key: str | None = None

    def __post_init__(self) -> None:
        try:
            import openai
        except ImportError:
            raise ModelError("unreachable", (
                "the OpenAI-compatible backend needs the `openai` package: "
                "pip install 'codeact-engine[openai]'")) from None
        self.host = (self.host or os.environ.get("OPENAI_BASE_URL") or DEFAULT_HOST).rstrip("/")
        base = self.host if self.host.endswith("/v1") else self.host + "/v1"
        # No retries: a local server that fails once says so, and the agent's caller decides.
        self._client = openai.OpenAI(
            base_url=base, timeout=self.timeout, max_retries=0,
            api_key=self.api_key or os.environ.get("OPENAI_API_KEY") or "not-needed")
        self._openai = openai

    def chat(self, messages: Sequence[Message], tools: Sequence[ToolDefinition] | None = None,
             *, response_format: Mapping[str, Any] | None = None,
             on_text: Callable[[str], None] | None = None) -> ModelReply:
        request = self._request(messages, tools, response_format)
        errors = self._openai
        try:
            if self.stream:
                return self._streamed(request, on_text)
            response = self._client.chat.completions.create(**request, stream=False)
            if not response.choices:
                raise ModelError("bad-response", "the server's reply had no choices")
            choice = response.choices[0]
            content = choice.message.content or ""
            if on_text is not None and content:
                on_text(content)
            calls = tuple(_call(c.id, c.function.name, c.function.arguments)
                          for c in choice.message.tool_calls or ()
                          if getattr(c, "function", None) is not None)
            return ModelReply(content=content, tool_calls=calls, usage=_usage(response.usage),
                              done_reason=choice.finish_reason)
        except errors.APITimeoutError:
            raise ModelError("timeout", (
                f"the model {self.name!r} did not answer within {self.timeout:g} s; raise the "
                "timeout, or try again once the server has loaded the model.")) from None
        except errors.APIConnectionError:
            raise ModelError("unreachable", (
                f"no OpenAI-compatible server answers at {self.host}. Start one (for "
                "example `llama-server -m MODEL.gguf --port 8080` or `vllm serve MODEL`) or "
                "point --host at a running server.")) from None
        except errors.NotFoundError as exc:
            raise ModelError("model-not-found", (
                f"the server at {self.host} does not serve the model {self.name!r} "
                f"({_message(exc)}). Ask it for the models it serves: GET {self.host}/v1/models"
            )) from None
        except errors.APIStatusError as exc:
            raise ModelError("bad-response", (
                f"the server answered {exc.status_code}: {_message(exc)}")) from None
        except (errors.OpenAIError, ValueError) as exc:
            raise ModelError("bad-response", f"talking to the server failed: {exc}") from None

    def assistant_message(self, reply: ModelReply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                for c in reply.tool_calls]
        return message

    def tool_message(self, call: ToolCallRequest, content: str) -> dict[str, Any]:
        return {"role": "tool", "tool_call_id": call.id, "content": content}

    def _request(self, messages: Sequence[Message], tools: Sequence[ToolDefinition] | None,
                 response_format: Mapping[str, Any] | None) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.name, "messages": list(messages)}
        extra: dict[str, Any] = {}
        for option, value in self.options.items():
            key = _RENAMED.get(option, option)
            if key in _NATIVE:
                request[key] = value
            else:
                extra[key] = value
        if extra:
            request["extra_body"] = extra
        if tools:
            request["tools"] = [{"type": "function", "function": {
                "name": t.name, "description": t.description,
                "parameters": dict(t.parameters)}} for t in tools]
        if response_format is not None:
            request["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "reply", "schema": dict(response_format), "strict": True}}
        return request

    def _streamed(self, request: dict[str, Any],
                  on_text: Callable[[str], None] | None) -> ModelReply:
        parts: list[str] = []
        pending: dict[int, dict[str, str]] = {}  # tool calls arrive in pieces, by index
        usage: Any = None
        finish: str | None = None
        seen = False
        stream = self._client.chat.completions.create(
            **request, stream=True, stream_options={"include_usage": True})
        for chunk in stream:
            seen = True
            usage = chunk.usage or usage
            for choice in chunk.choices:
                finish = choice.finish_reason or finish
                text = choice.delta.content or ""
                if text:
                    parts.append(text)
                    if on_text is not None:
                        on_text(text)
                for piece in choice.delta.tool_calls or ():
                    slot = pending.setdefault(piece.index, {"id": "", "name": "", "args": ""})
                    slot["id"] = piece.id or slot["id"]
                    if piece.function is not None:
                        slot["name"] += piece.function.name or ""
                        slot["args"] += piece.function.arguments or ""
        if not seen:
            raise ModelError("bad-response", "the server sent an empty stream")
        calls = tuple(_call(s["id"] or f"call_{i}", s["name"], s["args"])
                      for i, s in sorted(pending.items()))
        return ModelReply(content="".join(parts), tool_calls=calls, usage=_usage(usage),
                          done_reason=finish)


def _call(call_id: str, name: str, arguments: str | None) -> ToolCallRequest:
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        return ToolCallRequest(call_id, name, {}, malformed=arguments or "")
    return ToolCallRequest(call_id, name, parsed)


def _usage(usage: Any) -> TokenUsage:
    if usage is None:
        return TokenUsage()
    return TokenUsage(prompt_tokens=usage.prompt_tokens or 0,
                 completion_tokens=usage.completion_tokens or 0)


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return str(exc.message)

"""Model access: a local Ollama server through the official ``ollama`` client.

The loop depends only on the ``Model`` protocol; ``OllamaModel`` implements it. Errors a user
can fix (no server, model not pulled, too slow) become ``ModelError`` with a message that
says how, never a traceback from inside httpx.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import httpx
import ollama

from engine.errors import EngineError

DEFAULT_HOST = "http://127.0.0.1:11434"

ModelErrorKind = Literal["unreachable", "model-not-found", "timeout", "bad-response"]


class ModelError(EngineError):
    def __init__(self, kind: ModelErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ModelReply:
    """One assistant message and what it cost, as Ollama reports it."""

    content: str
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_ms: float = 0.0
    load_ms: float = 0.0
    prompt_eval_ms: float = 0.0
    eval_ms: float = 0.0
    done_reason: str | None = None


Message = Mapping[str, Any]


class Model(Protocol):
    name: str

    def chat(self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]] | None = None,
             on_text: Callable[[str], None] | None = None) -> ModelReply: ...


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

    def chat(self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]] | None = None,
             on_text: Callable[[str], None] | None = None) -> ModelReply:
        try:
            if self.stream:
                return self._streamed(messages, tools, on_text)
            response = self._client.chat(model=self.name, messages=list(messages),
                                         tools=list(tools or []) or None, stream=False,
                                         options=self.options or None,
                                         keep_alive=self.keep_alive)
            if on_text is not None and response.message.content:
                on_text(response.message.content)
            return _reply(response, response.message.content or "",
                          _tool_calls(response.message))
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

    def _streamed(self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]] | None,
                  on_text: Callable[[str], None] | None) -> ModelReply:
        parts: list[str] = []
        calls: list[tuple[str, dict[str, Any]]] = []
        last: Any = None
        for chunk in self._client.chat(model=self.name, messages=list(messages),
                                       tools=list(tools or []) or None, stream=True,
                                       options=self.options or None, keep_alive=self.keep_alive):
            text = chunk.message.content or ""
            if text:
                parts.append(text)
                if on_text is not None:
                    on_text(text)
            calls.extend(_tool_calls(chunk.message))
            last = chunk
        if last is None:
            raise ModelError("bad-response", "the Ollama server sent an empty stream")
        return _reply(last, "".join(parts), tuple(calls))


def _tool_calls(message: Any) -> tuple[tuple[str, dict[str, Any]], ...]:
    calls = getattr(message, "tool_calls", None) or []
    return tuple((c.function.name, dict(c.function.arguments or {})) for c in calls)


def _ms(nanoseconds: int | None) -> float:
    return (nanoseconds or 0) / 1_000_000


def _reply(final: Any, content: str, calls: tuple[tuple[str, dict[str, Any]], ...]) -> ModelReply:
    return ModelReply(
        content=content, tool_calls=calls,
        prompt_tokens=final.prompt_eval_count or 0, completion_tokens=final.eval_count or 0,
        total_ms=_ms(final.total_duration), load_ms=_ms(final.load_duration),
        prompt_eval_ms=_ms(final.prompt_eval_duration), eval_ms=_ms(final.eval_duration),
        done_reason=final.done_reason,
    )

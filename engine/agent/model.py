"""The seam between the agents and a model server: what a reply is, whatever serves it.

The loops depend only on the ``Model`` protocol. A backend turns the neutral pieces (messages,
``ToolDefinition``s, a response schema) into its server's request and its answer back into a
``ModelReply``; it also writes the messages that carry its own tool calls and their results,
because servers disagree on their shape (Ollama names the tool, OpenAI-compatible servers
refer to a call id). Two backends ship: ``OllamaModel`` (``engine.agent.ollama_backend``) and
``OpenAIModel`` for OpenAI-compatible local servers (``engine.agent.openai_backend``).

Errors a user can fix (no server, model not there, too slow) become ``ModelError`` with a
message that says how, never a traceback from inside an HTTP client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from engine.errors import EngineError

#: The kinds of model server the engine can talk to (``engine.agent.backends`` maps each
#: to its class).
BackendName = Literal["ollama", "openai"]

ModelErrorKind = Literal["unreachable", "model-not-found", "timeout", "bad-response"]

Message = Mapping[str, Any]


class ModelError(EngineError):
    def __init__(self, kind: ModelErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Timings:
    """How the server spent a reply's time, where it says (Ollama does; OpenAI's API not)."""

    total_ms: float = 0.0
    load_ms: float = 0.0
    prompt_eval_ms: float = 0.0
    eval_ms: float = 0.0


@dataclass(frozen=True)
class TokenUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    timings: Timings | None = None


@dataclass(frozen=True)
class ToolCallRequest:
    """A tool call the model asked for. ``id`` is the server's, or one the backend made up
    for servers that give none (Ollama), so that a result can always name its call."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    #: Set when the server passed on arguments that are not a JSON object (what was sent).
    malformed: str | None = None


@dataclass(frozen=True)
class ToolDefinition:
    """A tool as native tool calling offers it: ``parameters`` is a JSON schema (an object
    with ``properties``), references already inlined. Backends adapt it to what their
    server accepts."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class ModelReply:
    """One assistant message and what it cost."""

    content: str
    tool_calls: tuple[ToolCallRequest, ...] = ()
    usage: TokenUsage = field(default_factory=TokenUsage)
    done_reason: str | None = None


class Model(Protocol):
    """What an agent needs from a model server."""

    name: str
    host: str | None

    def chat(self, messages: Sequence[Message], tools: Sequence[ToolDefinition] | None = None,
             *, response_format: Mapping[str, Any] | None = None,
             on_text: Callable[[str], None] | None = None) -> ModelReply:
        """One reply to ``messages``. ``response_format`` is a JSON schema the reply must
        follow (constrained decoding, where the server has it); ``on_text`` receives the
        text as it streams."""
        ...

    def assistant_message(self, reply: ModelReply) -> dict[str, Any]:
        """The message that puts ``reply`` (its text and tool calls) into the history."""
        ...

    def tool_message(self, call: ToolCallRequest, content: str) -> dict[str, Any]:
        """The message that gives the model the result of ``call``."""
        ...

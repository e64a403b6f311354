"""The agent loop: a local model writes code (CodeAct) or calls tools as JSON (the baseline).

Models are reached through the neutral ``Model`` seam: ``OllamaModel`` for Ollama,
``OpenAIModel`` for OpenAI-compatible servers (llama.cpp's ``llama-server``, vLLM, LM Studio).

Names are imported on first use, as in ``engine``: the pool's workers and ``codeact batch``
need the seam's small types (``BackendName``), not the HTTP clients behind the backends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.lazy import lazy_exports

if TYPE_CHECKING:
    from engine.agent.example import ExampleError, ExampleTurn, generated_example
    from engine.agent.json_agent import JsonToolAgent
    from engine.agent.loop import AgentAnswer, CodeActAgent, Hooks
    from engine.agent.model import (
        BackendName,
        Model,
        ModelError,
        ModelReply,
        Timings,
        TokenUsage,
        ToolCallRequest,
        ToolDefinition,
    )
    from engine.agent.ollama_backend import OllamaModel
    from engine.agent.openai_backend import OpenAIModel

_EXPORTS = {
    "AgentAnswer": "engine.agent.loop",
    "BackendName": "engine.agent.model",
    "CodeActAgent": "engine.agent.loop",
    "ExampleError": "engine.agent.example",
    "ExampleTurn": "engine.agent.example",
    "Hooks": "engine.agent.loop",
    "JsonToolAgent": "engine.agent.json_agent",
    "Model": "engine.agent.model",
    "ModelError": "engine.agent.model",
    "ModelReply": "engine.agent.model",
    "OllamaModel": "engine.agent.ollama_backend",
    "OpenAIModel": "engine.agent.openai_backend",
    "Timings": "engine.agent.model",
    "TokenUsage": "engine.agent.model",
    "ToolCallRequest": "engine.agent.model",
    "ToolDefinition": "engine.agent.model",
    "generated_example": "engine.agent.example",
}

__all__ = ["AgentAnswer", "BackendName", "CodeActAgent", "ExampleError", "ExampleTurn", "Hooks",
           "JsonToolAgent", "Model", "ModelError", "ModelReply", "OllamaModel", "OpenAIModel",
           "Timings", "TokenUsage", "ToolCallRequest", "ToolDefinition", "generated_example"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)

"""The agent loop: a local model writes code (CodeAct) or calls tools as JSON (the baseline).

Models are reached through the neutral ``Model`` seam: ``OllamaModel`` for Ollama,
``OpenAIModel`` for OpenAI-compatible servers (llama.cpp's ``llama-server``, vLLM, LM Studio).
"""

from engine.agent.example import ExampleError, ExampleTurn, generated_example
from engine.agent.json_agent import JsonToolAgent
from engine.agent.loop import AgentAnswer, CodeActAgent, Hooks
from engine.agent.model import (
    Model,
    ModelError,
    ModelReply,
    Timings,
    ToolCallRequest,
    ToolDefinition,
    Usage,
)
from engine.agent.ollama_backend import OllamaModel
from engine.agent.openai_backend import OpenAIModel

__all__ = ["AgentAnswer", "CodeActAgent", "ExampleError", "ExampleTurn", "Hooks",
           "JsonToolAgent", "Model", "ModelError", "ModelReply", "OllamaModel", "OpenAIModel",
           "Timings", "ToolCallRequest", "ToolDefinition", "Usage", "generated_example"]

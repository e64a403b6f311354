"""The agent loop: a local model writes code (CodeAct) or calls tools as JSON (the baseline)."""

from engine.agent.json_agent import JsonToolAgent
from engine.agent.loop import AgentAnswer, CodeActAgent, Hooks
from engine.agent.model import Model, ModelError, ModelReply, OllamaModel

__all__ = ["AgentAnswer", "CodeActAgent", "Hooks", "JsonToolAgent", "Model", "ModelError",
           "ModelReply", "OllamaModel"]

"""Which model backend a name stands for: one place for the command line, the workers of
``codeact batch`` and the benchmarks to choose by name."""

from __future__ import annotations

from typing import Any

from engine.agent.model import BackendName, Model
from engine.agent.ollama_backend import OllamaModel
from engine.agent.openai_backend import OpenAIModel

BACKENDS: dict[BackendName, type[OllamaModel] | type[OpenAIModel]] = {
    "ollama": OllamaModel, "openai": OpenAIModel}


def connect(backend: BackendName, name: str, **settings: Any) -> Model:
    """The model ``name`` on a server of kind ``backend`` (``host``, ``options``, ``timeout``
    as each backend takes them); ``ModelError`` when the backend cannot be used here."""
    return BACKENDS[backend](name, **settings)

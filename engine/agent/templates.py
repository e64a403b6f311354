"""The prompt templates, kept in ``prompts/templates.toml`` rather than in the code."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from string import Template
from typing import Any


@cache
def _templates() -> dict[str, Any]:
    text = resources.files("engine.agent").joinpath("prompts/templates.toml").read_text("utf-8")
    return tomllib.loads(text)


def render(key: str, **values: object) -> str:
    """Fill the template at ``key`` (``"structured.hint"`` for a nested one)."""
    node: Any = _templates()
    for part in key.split("."):
        node = node[part]
    return Template(str(node)).substitute({k: str(v) for k, v in values.items()})

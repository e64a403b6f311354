"""Tools as JSON schemas for native tool calling, from the same registry as the stubs.

Each parameter's schema comes from pydantic, with ``$ref``s inlined (servers that turn a
schema into a grammar, and clients that validate tool definitions, do not all follow
references) and pydantic's ``title`` metadata dropped. Backends narrow the result further where
their server needs it (``engine.agent.ollama_backend``).
"""

from __future__ import annotations

import copy
import inspect
import json
from typing import Any

from pydantic import TypeAdapter

from engine.agent.model import ToolDefinition
from engine.tools import Tool, ToolRegistry

_SKIP = (inspect.Parameter.VAR_KEYWORD,)


def _inline(schema: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    if isinstance(schema, list):
        return [_inline(s, defs, depth) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        if depth > 6 or name not in defs:
            return {"type": "object", "description": name}
        merged = {**copy.deepcopy(defs[name]), **{k: v for k, v in schema.items() if k != "$ref"}}
        return _inline(merged, defs, depth + 1)
    inlined: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("$defs", "title"):  # schema metadata, not a field called "title"
            continue
        if key == "properties" and isinstance(value, dict):
            inlined[key] = {name: _inline(v, defs, depth) for name, v in value.items()}
        else:
            inlined[key] = _inline(value, defs, depth)
    return inlined


def tool_definition(tool: Tool) -> ToolDefinition:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in tool.params:
        if param.kind in _SKIP:
            continue
        annotation = (list[param.annotation]  # type: ignore[name-defined]
                      if param.kind is inspect.Parameter.VAR_POSITIONAL else param.annotation)
        raw = TypeAdapter(annotation).json_schema()
        properties[param.name] = _inline(raw, raw.get("$defs", {}))
        if param.has_default and _is_json(param.default):
            properties[param.name]["default"] = param.default
        if not param.has_default and param.kind is not inspect.Parameter.VAR_POSITIONAL:
            required.append(param.name)
    return ToolDefinition(name=tool.name, description=tool.description or tool.name,
                          parameters={"type": "object", "properties": properties,
                                      "required": required})


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def tool_definitions(registry: ToolRegistry) -> list[ToolDefinition]:
    return [tool_definition(t) for t in registry]

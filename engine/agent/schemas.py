"""JSON schemas of the tools for native tool calling, from the same registry as the stubs.

The official client validates tool definitions with a model that keeps only ``type``,
``items``, ``description`` and ``enum`` on each parameter: ``$ref``, ``anyOf`` and the fields of
nested objects are dropped. So references are inlined, unions become lists of types, and an
object parameter carries its fields in its description. That flattening is what JSON tool
calling costs for nested types.
"""

from __future__ import annotations

import copy
import inspect
import json
from typing import Any

from pydantic import TypeAdapter

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


def _types(schema: dict[str, Any]) -> list[str]:
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


def _property(schema: dict[str, Any]) -> dict[str, Any]:
    types = list(dict.fromkeys(_types(schema)))
    prop: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    description = schema.get("description", "")
    variants = schema.get("anyOf", [schema])
    for variant in variants:
        if "enum" in variant:
            prop["enum"] = variant["enum"]
        if variant.get("type") == "array" and "items" in variant:
            prop["items"] = variant["items"]
        if variant.get("type") == "object" and "properties" in variant:
            fields = json.dumps({k: v for k, v in variant["properties"].items()},
                                separators=(",", ":"))
            description = (description + " " if description else "") + f"object fields: {fields}"
    if description:
        prop["description"] = description
    return prop


def tool_schema(tool: Tool) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in tool.params:
        if param.kind in _SKIP:
            continue
        annotation = (list[param.annotation]  # type: ignore[name-defined]
                      if param.kind is inspect.Parameter.VAR_POSITIONAL else param.annotation)
        raw = TypeAdapter(annotation).json_schema()
        properties[param.name] = _property(_inline(raw, raw.get("$defs", {})))
        if not param.has_default and param.kind is not inspect.Parameter.VAR_POSITIONAL:
            required.append(param.name)
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description or tool.name,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


def tool_schemas(registry: ToolRegistry) -> list[dict[str, Any]]:
    return [tool_schema(t) for t in registry]

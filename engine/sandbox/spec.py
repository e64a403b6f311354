"""What the sandbox needs to know about the tools, as data that crosses a process boundary.

The sandbox process starts empty: it never imports the host's modules, so nothing the host
holds in memory (API keys, clients, the tools' own code) is there for a snippet to find. It
receives this spec instead and rebuilds from it plain pydantic models with the same names and
fields, and a proxy for each tool.
"""

from __future__ import annotations

import inspect
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticUndefined, to_json

from engine.policy.model import Policy
from engine.stubs import annotation_text
from engine.tools import ToolRegistry, is_enum, is_model
from engine.tooltypes import TYPE_MODULES, EnumKind, enum_base, enum_kind

_FROZEN = ConfigDict(frozen=True)


class FieldSpec(BaseModel):
    model_config = _FROZEN
    name: str
    type: str = Field(description="The annotation as stub source, e.g. 'list[User] | None'.")
    required: bool = True
    default_json: str | None = Field(default=None, description="JSON of the default value.")
    description: str | None = None


class ModelSpec(BaseModel):
    model_config = _FROZEN
    name: str
    doc: str = ""
    fields: tuple[FieldSpec, ...] = ()


class EnumSpec(BaseModel):
    model_config = _FROZEN
    name: str
    base: EnumKind = "Enum"
    members: tuple[tuple[str, Any], ...] = ()


class ParamSpec(BaseModel):
    model_config = _FROZEN
    name: str
    kind: Literal["POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD", "VAR_POSITIONAL", "KEYWORD_ONLY",
                  "VAR_KEYWORD"]
    has_default: bool = False


class ToolSpec(BaseModel):
    model_config = _FROZEN
    name: str
    doc: str = ""
    params: tuple[ParamSpec, ...] = ()
    returns: str = "None"


class SandboxSpec(BaseModel):
    """Everything a sandbox process is told: the policy, the types, the tools."""

    model_config = _FROZEN
    policy: Policy
    enums: tuple[EnumSpec, ...] = ()
    models: tuple[ModelSpec, ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    seccomp: bool = True
    #: attribute stores go through the write barrier (engine/sandbox/write_barrier.py): the
    #: policy layer's run-time half, off with the static policy so that the sandbox alone can
    #: be attacked directly
    guard_writes: bool = True


def _default_json(field: Any) -> str | None:
    if field.default is not PydanticUndefined:
        value = field.default
    elif field.default_factory is not None:
        value = field.default_factory()
    else:
        return None
    try:
        return to_json(value).decode()
    except Exception:  # a default that cannot be expressed as data: None stands in
        return "null"


def build_spec(registry: ToolRegistry, policy: Policy, *, seccomp: bool = True,
               guard_writes: bool = True) -> SandboxSpec:
    enums: list[EnumSpec] = []
    models: list[ModelSpec] = []
    for named in registry.named_types:
        if is_enum(named):
            # Members only: the combinations of a Flag are made by its base class again.
            enums.append(EnumSpec(name=named.__name__, base=enum_kind(named),
                                  members=tuple((m.name, m.value)
                                                for m in named.__members__.values())))
        elif is_model(named):
            fields = tuple(
                FieldSpec(name=name, type=annotation_text(f.annotation), required=f.is_required(),
                          default_json=None if f.is_required() else _default_json(f),
                          description=f.description)
                for name, f in named.model_fields.items()
            )
            doc = named.__doc__ if named.__doc__ != BaseModel.__doc__ else ""
            models.append(ModelSpec(name=named.__name__, doc=inspect.cleandoc(doc or ""),
                                    fields=fields))
    tools = tuple(
        ToolSpec(
            name=t.name, doc=t.description,
            params=tuple(ParamSpec.model_validate({"name": p.name, "kind": p.kind.name,
                                                   "has_default": p.has_default})
                         for p in t.params),
            returns=annotation_text(t.return_type),
        )
        for t in registry
    )
    return SandboxSpec(policy=policy, enums=tuple(enums), models=tuple(models), tools=tools,
                       seccomp=seccomp, guard_writes=guard_writes)


def build_types(spec: SandboxSpec) -> dict[str, Any]:
    """Rebuild the enums and models of a spec (in the sandbox process): name -> class."""
    from pydantic import create_model

    namespace: dict[str, Any] = {**TYPE_MODULES, "Literal": Literal, "Any": Any}
    for e in spec.enums:
        base: Any = enum_base(e.base)  # the functional API: mypy knows only the class form
        namespace[e.name] = base(e.name, [(n, v) for n, v in e.members])
    built: dict[str, type[BaseModel]] = {}
    for m in spec.models:
        fields: dict[str, Any] = {}
        for f in m.fields:
            if f.required:
                default: Any = ...
            elif f.default_json is not None:
                default = Field(default_factory=_factory(f.default_json),
                                description=f.description)
            else:
                default = None
            fields[f.name] = (f.type, default)  # resolved below, once every class exists
        model = create_model(m.name, __doc__=m.doc or None, __module__="tools", **fields)
        built[m.name] = model
        namespace[m.name] = model
    for model in built.values():
        model.model_rebuild(_types_namespace=namespace)
    return {name: value for name, value in namespace.items()
            if name in built or any(e.name == name for e in spec.enums)}


def _factory(default_json: str) -> Any:
    def make() -> Any:
        return json.loads(default_json)  # a fresh value per instance, like a default factory

    return make


_TYPE_BUILTINS = ("int", "float", "str", "bool", "bytes", "object", "list", "dict", "set",
                  "frozenset", "tuple")


def evaluate_type(text: str, types: dict[str, Any]) -> Any:
    """Turn an annotation rendered by ``annotation_text`` back into a type (sandbox side)."""
    import builtins

    scope = {**TYPE_MODULES, "Literal": Literal, "Any": Any, **types}
    allowed = {n: getattr(builtins, n) for n in _TYPE_BUILTINS}
    return eval(text, {"__builtins__": allowed}, scope)  # our own rendering, never a snippet

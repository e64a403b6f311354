"""Render a tool registry as Python: ``.pyi`` stubs for mypy and the same view for the model.

The stubs show what a snippet may call and what it gets back (signatures, docstrings and
the pydantic models as classes with typed fields) with every body omitted. Output is
deterministic: the same registry always renders to the same text.
"""

from __future__ import annotations

import enum
import inspect
import types
import typing
from typing import Any, Literal

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from engine.tools import Tool, ToolRegistry, is_enum, is_model
from engine.tooltypes import SCALAR_TEXT, TYPE_MODULES, enum_kind

_INDENT = "    "

_SCALAR_NAMES: dict[Any, str] = {**SCALAR_TEXT, object: "object"}

_PLUMBING = '''\
@dataclass_transform(kw_only_default=True)
class BaseModel:
    """Tool results are pydantic models: read their fields as attributes."""

    def model_dump(self) -> dict[str, Any]: ...
    def model_dump_json(self, *, indent: int | None = None) -> str: ...
    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Self: ...
'''

_FINAL_ANSWER = '''\
def final_answer(value: object) -> NoReturn:
    """Finish the task: `value` (str, number, bool, None, or a list/dict of them) is the answer."""
'''


def annotation_text(tp: Any) -> str:
    """The annotation as stub source, e.g. ``list[User] | None``."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if tp is None or tp is type(None):
        return "None"
    if tp is Any:
        return "Any"
    if tp in _SCALAR_NAMES:
        return _SCALAR_NAMES[tp]
    if is_model(tp) or is_enum(tp):
        return str(tp.__name__)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(annotation_text(a) for a in args)
    if origin is Literal:
        return "Literal[" + ", ".join(_literal(a) for a in args) + "]"
    if origin is tuple:
        if not args:
            return "tuple[()]"
        items = ", ".join("..." if a is Ellipsis else annotation_text(a) for a in args)
        return f"tuple[{items}]"
    if origin in (list, set, frozenset, dict):
        return f"{origin.__name__}[" + ", ".join(annotation_text(a) for a in args) + "]"
    if tp in (list, set, frozenset):
        return f"{tp.__name__}[Any]"
    if tp is tuple:
        return "tuple[Any, ...]"
    if tp is dict:
        return "dict[Any, Any]"
    raise TypeError(f"cannot render annotation {tp!r}")


def _literal(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    return repr(value)


def _default_text(value: Any) -> str:
    """A readable default when it is a short literal, else ``...`` as stubs do."""
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float)) and len(repr(value)) <= 20:
        return repr(value)
    if isinstance(value, str) and len(value) <= 40:
        return repr(value)
    return "..."


def _docstring(text: str, indent: str) -> list[str]:
    text = inspect.cleandoc(text).replace('"""', r"\"\"\"")
    if not text:
        return []
    lines = text.splitlines()
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    body = [f"{indent}{line}".rstrip() for line in lines]
    return [f'{indent}"""{lines[0]}', *body[1:], f'{indent}"""']


def _model_source(model: type[BaseModel]) -> str:
    lines = [f"class {model.__name__}(BaseModel):"]
    doc = model.__doc__ if model.__doc__ and model.__doc__ != BaseModel.__doc__ else ""
    lines += _docstring(doc, _INDENT)
    if doc:
        lines.append("")
    if not model.model_fields:
        lines.append(f"{_INDENT}pass")
    for name, field in model.model_fields.items():
        line = f"{_INDENT}{name}: {annotation_text(field.annotation)}"
        if not field.is_required():
            default = field.default
            line += " = " + ("..." if default is PydanticUndefined else _default_text(default))
        if field.description:
            line += "  # " + " ".join(field.description.split())
        lines.append(line)
    return "\n".join(lines) + "\n"


def _enum_source(cls: type[enum.Enum]) -> str:
    lines = [f"class {cls.__name__}(enum.{enum_kind(cls)}):"]
    lines += _docstring(cls.__doc__ or "" if cls.__doc__ != enum.Enum.__doc__ else "", _INDENT)
    for member in cls:
        lines.append(f"{_INDENT}{member.name} = {member.value!r}")
    return "\n".join(lines) + "\n"


def signature_text(t: Tool) -> str:
    """``name(params) -> return`` exactly as the stub declares it."""
    return f"{t.name}({', '.join(_param_texts(t))}) -> {annotation_text(t.return_type)}"


def _param_texts(t: Tool) -> list[str]:
    parts: list[str] = []
    saw_star = False
    params = t.params
    for i, p in enumerate(params):
        kind = p.kind
        if kind is inspect.Parameter.KEYWORD_ONLY and not saw_star:
            parts.append("*")
            saw_star = True
        text = p.name
        if kind is inspect.Parameter.VAR_POSITIONAL:
            text, saw_star = "*" + p.name, True
        elif kind is inspect.Parameter.VAR_KEYWORD:
            text = "**" + p.name
        text += ": " + annotation_text(p.annotation)
        if p.has_default:
            text += " = " + _default_text(p.default)
        parts.append(text)
        last_positional_only = kind is inspect.Parameter.POSITIONAL_ONLY and (
            i + 1 == len(params) or params[i + 1].kind is not inspect.Parameter.POSITIONAL_ONLY
        )
        if last_positional_only:
            parts.append("/")
    return parts


_MAX_LINE = 99


def _tool_source(t: Tool) -> str:
    doc = _docstring(t.description, _INDENT)
    head = f"def {signature_text(t)}:"
    if len(head) > _MAX_LINE:
        params = _param_texts(t)
        head = "\n".join([f"def {t.name}(", *(f"{_INDENT}{p}," for p in params),
                          f") -> {annotation_text(t.return_type)}:"])
    if not doc:
        return head + " ...\n"
    return "\n".join([head, *doc]) + "\n"


def _imports(body: str) -> list[str]:
    imports = [f"import {m}" for m in (*TYPE_MODULES, "enum") if f"{m}." in body]
    typing_names = ["Any", "NoReturn", "Self", "dataclass_transform"]
    if "Literal[" in body:
        typing_names.append("Literal")
    # isort's order: classes (capitalised) before functions
    imports.append(f"from typing import {', '.join(sorted(typing_names))}")
    return imports


def _body(registry: ToolRegistry) -> list[str]:
    blocks: list[str] = []
    for named in registry.named_types:
        blocks.append(_enum_source(named) if is_enum(named) else _model_source(named))
    blocks.extend(_tool_source(t) for t in registry)
    return blocks


def render_stubs(registry: ToolRegistry) -> str:
    """The complete ``.pyi`` module: importable by mypy, star-importable by a snippet."""
    exported = sorted([*registry.type_names, *registry.names, "final_answer"])
    body = _body(registry)
    header = "\n".join([
        f"# Tools of {registry.source or 'an engine'}: generated by codeact-engine, do not edit.",
        "# Bodies are omitted: snippets call these functions; they run on the trusted side.",
        "",
        *_imports("\n".join(body)),
        "",
        "__all__ = [",
        *(f'    "{name}",' for name in exported),
        "]",
        "",
    ])
    return "\n\n".join([header, _PLUMBING, *body, _FINAL_ANSWER])


def render_prompt_view(registry: ToolRegistry) -> str:
    """The stubs as a model reads them: models and signatures only, no stub plumbing."""
    return "\n\n".join([*_body(registry), _FINAL_ANSWER])

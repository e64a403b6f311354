"""Tools are ordinary typed Python functions; the registry is what a snippet can call.

The registry is the single source for everything derived from the tools: the ``.pyi`` stubs
the type checker and the model read, the names the policy lets a snippet use, and (in the
sandbox) the argument and return validation of brokered calls.
"""

from __future__ import annotations

import builtins
import enum
import importlib
import importlib.util
import inspect
import keyword
import sys
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, TypeGuard, overload

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_json

from engine.errors import ToolArgumentError, ToolDefinitionError, ToolLoadError, ToolResultError
from engine.sandbox.bytes_codec import tag_bytes
from engine.tooltypes import SCALAR_TYPES, describe

#: Names the engine itself provides to every snippet.
ENGINE_NAMES: tuple[str, ...] = ("final_answer",)


@dataclass(frozen=True)
class ToolParam:
    name: str
    kind: inspect._ParameterKind
    annotation: Any
    default: Any = inspect.Parameter.empty

    @property
    def has_default(self) -> bool:
        return self.default is not inspect.Parameter.empty


class Tool:
    """A function a snippet may call, with its resolved signature.

    Calling a ``Tool`` calls the function: decorating a function does not change how the
    trusted side uses it.
    """

    def __init__(
        self, func: Callable[..., Any], *, name: str | None = None, description: str | None = None
    ) -> None:
        if not callable(func):
            raise ToolDefinitionError(f"a tool must be a function, got {func!r}")
        self.func = func
        self.name: str = name or str(getattr(func, "__name__", ""))
        self.description = inspect.cleandoc(description or func.__doc__ or "")
        self.module = getattr(func, "__module__", None) or "__main__"
        self._check_name()
        self.params, self.return_type = _resolve_signature(func, self.name)
        for param in self.params:
            _check_supported(param.annotation, f"parameter {param.name!r} of tool {self.name!r}")
        _check_supported(self.return_type, f"return type of tool {self.name!r}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    @property
    def positional_names(self) -> tuple[str, ...]:
        """The parameters an argument can reach by position, in order."""
        return tuple(p.name for p in self.params if p.kind in (
            inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD))

    @cached_property
    def signature(self) -> inspect.Signature:
        """The signature with resolved annotations."""
        return inspect.Signature([
            inspect.Parameter(p.name, p.kind, default=p.default, annotation=p.annotation)
            for p in self.params
        ], return_annotation=self.return_type)

    @cached_property
    def argument_adapters(self) -> dict[str, TypeAdapter[Any]]:
        """A validator per parameter (`*args` as a tuple, `**kwargs` as a dict of them)."""
        adapters: dict[str, TypeAdapter[Any]] = {}
        for p in self.params:
            if p.kind is inspect.Parameter.VAR_POSITIONAL:
                adapters[p.name] = TypeAdapter(tuple[p.annotation, ...])  # type: ignore[name-defined]
            elif p.kind is inspect.Parameter.VAR_KEYWORD:
                adapters[p.name] = TypeAdapter(dict[str, p.annotation])  # type: ignore[name-defined]
            else:
                adapters[p.name] = TypeAdapter(p.annotation)
        return adapters

    @cached_property
    def return_adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.return_type)

    @cached_property
    def returns_bytes(self) -> bool:
        """Whether a result can hold bytes (then it is sent the slower, exact way)."""
        return _may_hold_bytes(self.return_type)

    def validate_arguments(self, args: list[Any], kwargs: dict[str, Any]) -> inspect.BoundArguments:
        """Bind JSON-decoded arguments to the signature and validate each against its type.

        Raises ``ToolArgumentError`` with a message naming the parameter.
        """
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise ToolArgumentError(f"{self.name}(): {exc}") from None
        for name, value in bound.arguments.items():
            try:
                bound.arguments[name] = self.argument_adapters[name].validate_python(value)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(part) for part in (name, *e['loc']))}: {e['msg']}"
                    for e in exc.errors(include_url=False)
                )
                raise ToolArgumentError(f"{self.name}(): invalid argument {problems}") from None
        return bound

    def dump_result(self, value: Any) -> bytes:
        """Validate a return value against the declared type and serialise it as JSON."""
        try:
            checked = self.return_adapter.validate_python(value, from_attributes=True)
        except ValidationError as exc:
            problems = exc.errors(include_url=False)
            where = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'the value'}: {e['msg']}"
                for e in problems[:3])
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise ToolResultError(
                f"tool {self.name!r} returned a value that does not match its declared return "
                f"type {self.return_type!r}: {where}{more}"
            ) from None
        if self.returns_bytes:
            # JSON has no bytes: each travels tagged as base64 (engine.sandbox.bytes_codec).
            return to_json(tag_bytes(self.return_adapter.dump_python(checked)))
        return self.return_adapter.dump_json(checked)

    def __repr__(self) -> str:
        return f"Tool({self.name!r})"

    @property
    def annotations(self) -> list[Any]:
        return [p.annotation for p in self.params] + [self.return_type]

    def _check_name(self) -> None:
        name = self.name
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ToolDefinitionError(f"tool name {name!r} is not a valid Python identifier")
        if name.startswith("_"):
            raise ToolDefinitionError(
                f"tool name {name!r} starts with an underscore; snippets cannot use such names"
            )
        if name in ENGINE_NAMES or hasattr(builtins, name):
            raise ToolDefinitionError(
                f"tool name {name!r} shadows a Python builtin or an engine helper; rename it"
            )


@overload
def tool(func: Callable[..., Any], /) -> Tool: ...
@overload
def tool(
    *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], Tool]: ...
def tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Declare a function as a tool: ``@tool`` or ``@tool(name=..., description=...)``."""
    if func is not None:
        return Tool(func, name=name, description=description)

    def decorate(f: Callable[..., Any]) -> Tool:
        return Tool(f, name=name, description=description)

    return decorate


def _resolve_signature(func: Callable[..., Any], name: str) -> tuple[tuple[ToolParam, ...], Any]:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise ToolDefinitionError(f"cannot read the signature of tool {name!r}: {exc}") from exc
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:
        raise ToolDefinitionError(
            f"cannot resolve the type annotations of tool {name!r}: {exc}"
        ) from exc
    params: list[ToolParam] = []
    for param in signature.parameters.values():
        if param.name not in hints:
            raise ToolDefinitionError(
                f"parameter {param.name!r} of tool {name!r} has no type annotation; "
                "every parameter needs one so that calls can be type-checked and validated"
            )
        params.append(ToolParam(param.name, param.kind, hints[param.name], param.default))
    if "return" not in hints:
        raise ToolDefinitionError(
            f"tool {name!r} has no return annotation; write `-> None` if it returns nothing"
        )
    return tuple(params), hints["return"]


def _strip_annotated(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def is_model(tp: Any) -> TypeGuard[type[BaseModel]]:
    return isinstance(tp, type) and issubclass(tp, BaseModel) and tp is not BaseModel


def is_enum(tp: Any) -> TypeGuard[type[enum.Enum]]:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


_CONTAINERS = (list, set, frozenset, tuple, dict)


def _check_supported(tp: Any, where: str) -> None:
    for problem in _unsupported(tp):
        raise ToolDefinitionError(
            f"{where} uses {problem}, which tools cannot expose; use {describe()}")


def _may_hold_bytes(tp: Any, seen: set[type] | None = None) -> bool:
    seen = seen if seen is not None else set()
    tp = _strip_annotated(tp)
    origin = typing.get_origin(tp)
    if tp is Any or tp is object or tp is bytes or tp in _CONTAINERS:
        return True
    if origin is Literal:
        return any(isinstance(value, bytes) for value in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType) or origin in _CONTAINERS:
        return any(arg is not Ellipsis and _may_hold_bytes(arg, seen)
                   for arg in typing.get_args(tp))
    if is_model(tp) and tp not in seen:
        seen.add(tp)
        return any(_may_hold_bytes(field.annotation, seen) for field in tp.model_fields.values())
    return False


def _unsupported(tp: Any, seen: set[type] | None = None) -> Iterator[str]:
    seen = seen if seen is not None else set()
    tp = _strip_annotated(tp)
    origin = typing.get_origin(tp)
    if tp is None or tp is type(None) or tp is Any or tp is object:
        return
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            yield from _unsupported(arg, seen)
        return
    if origin is Literal:
        for value in typing.get_args(tp):
            if not isinstance(value, (int, str, bool, bytes)) and value is not None:
                yield f"Literal value {value!r}"
        return
    if origin in _CONTAINERS:
        for arg in typing.get_args(tp):
            if arg is not Ellipsis:
                yield from _unsupported(arg, seen)
        return
    if tp in _CONTAINERS:
        return
    if isinstance(tp, type) and tp in SCALAR_TYPES:
        return
    if is_enum(tp):
        return
    if isinstance(tp, typing.ForwardRef):
        yield (f"the unresolved name {tp.__forward_arg__!r} (define it before the model that "
               "uses it, or call model_rebuild() on that model)")
        return
    if is_model(tp):
        if tp in seen:
            return
        seen.add(tp)
        if tp.__pydantic_generic_metadata__.get("parameters"):
            yield f"the generic model {tp.__name__}"
        for field in tp.model_fields.values():
            yield from _unsupported(field.annotation, seen)
        return
    yield f"the type {tp!r}"


def iter_named_types(tp: Any, seen: dict[type, None], visiting: set[type] | None = None) -> None:
    """Collect models and enums reachable from ``tp`` into ``seen``, dependencies first."""
    visiting = visiting if visiting is not None else set()
    tp = _strip_annotated(tp)
    if typing.get_origin(tp) is not Literal:
        for arg in typing.get_args(tp):
            if arg is not Ellipsis:
                iter_named_types(arg, seen, visiting)
    if is_enum(tp) and tp not in seen:
        seen[tp] = None
    elif is_model(tp) and tp not in seen and tp not in visiting:
        visiting.add(tp)  # models may refer to themselves
        for field in tp.model_fields.values():
            iter_named_types(field.annotation, seen, visiting)
        seen[tp] = None


class ToolRegistry:
    """An ordered, validated set of tools and the models and enums their signatures use."""

    def __init__(
        self, tools: Iterable[Tool | Callable[..., Any]] = (), *, source: str = ""
    ) -> None:
        self._tools: dict[str, Tool] = {}
        for item in tools:
            t = item if isinstance(item, Tool) else Tool(item)
            if t.name in self._tools:
                raise ToolDefinitionError(f"two tools are named {t.name!r}")
            self._tools[t.name] = t
        named: dict[type, None] = {}
        for t in self._tools.values():
            for annotation in t.annotations:
                iter_named_types(annotation, named)
        self.named_types: tuple[type, ...] = tuple(named)
        by_name: dict[str, type] = {}
        for named_type in self.named_types:
            other = by_name.setdefault(named_type.__name__, named_type)
            if other is not named_type:
                raise ToolDefinitionError(
                    f"two different types are named {named_type.__name__!r} "
                    f"({other.__module__} and {named_type.__module__}); rename one"
                )
        self.source = source or ", ".join(sorted({t.module for t in self._tools.values()}))
        clashing = {t.__name__ for t in self.named_types} & set(self._tools)
        if clashing:
            raise ToolDefinitionError(f"a tool and a model share the name(s) {sorted(clashing)}")

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._tools)

    def only(self, keep: Callable[[str], bool]) -> ToolRegistry:
        """The tools whose names ``keep`` accepts (a policy's permitted tools)."""
        return ToolRegistry([t for t in self._tools.values() if keep(t.name)],
                            source=self.source)

    @property
    def models(self) -> tuple[type[BaseModel], ...]:
        return tuple(t for t in self.named_types if is_model(t))

    @property
    def type_names(self) -> tuple[str, ...]:
        """Names of the models and enums, which snippets may use (to build arguments)."""
        return tuple(t.__name__ for t in self.named_types)


def load_tools(spec: str) -> ToolRegistry:
    """Import tools from ``module``, ``module:ATTR``, ``path/to/file.py`` or ``file.py:ATTR``.

    Without ``ATTR`` the module's ``TOOLS`` is used if it exists, else every ``@tool`` the
    module defines, in definition order.
    """
    target, _, attr = spec.partition(":")
    module = _import_target(target)
    if attr:
        if not hasattr(module, attr):
            raise ToolLoadError(f"{target!r} has no attribute {attr!r}")
        found: Any = getattr(module, attr)
        if callable(found) and not isinstance(found, (Tool, ToolRegistry)):
            found = found()
    elif hasattr(module, "TOOLS"):
        found = module.TOOLS
    else:
        found = [
            v for v in vars(module).values() if isinstance(v, Tool) and v.module == module.__name__
        ]
    if isinstance(found, ToolRegistry):
        registry = found
    elif isinstance(found, Tool):
        registry = ToolRegistry([found], source=module.__name__)
    else:
        try:
            registry = ToolRegistry(list(found), source=module.__name__)
        except TypeError as exc:
            raise ToolLoadError(f"{spec!r} is not a list of tools: {exc}") from exc
    if not len(registry):
        raise ToolLoadError(
            f"{spec!r} defines no tools: decorate functions with @tool or list them in TOOLS"
        )
    return registry


def _import_target(target: str) -> types.ModuleType:
    path = Path(target)
    try:
        if target.endswith(".py") or path.is_file():
            if not path.is_file():
                raise ToolLoadError(f"no such file: {target}")
            name = path.stem
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ToolLoadError(f"cannot import {target}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            return module
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            # Like `python -m`: a toolset next to where the command runs is importable.
            sys.path.insert(0, str(Path.cwd()))
        return importlib.import_module(target)
    except ToolLoadError:
        raise
    except ToolDefinitionError:
        raise
    except Exception as exc:
        raise ToolLoadError(
            f"cannot import tools from {target!r}: {type(exc).__name__}: {exc}"
        ) from exc

"""Write mypy's inferred types back as stub source for the session context.

Anything that cannot be written faithfully (types of classes a snippet defined, overloads)
becomes ``Any``: a missing type can only hide an error, never invent one. A function's type
variables are declared with the function, under private names (``def first(xs: list[T]) ->
T`` stays generic in later snippets).
"""

from __future__ import annotations

import re

from mypy.nodes import (
    ARG_NAMED,
    ARG_NAMED_OPT,
    ARG_OPT,
    ARG_POS,
    ARG_STAR,
    ARG_STAR2,
    CONTRAVARIANT,
    COVARIANT,
    FuncDef,
)
from mypy.types import (
    CallableType,
    Instance,
    LiteralType,
    NoneType,
    TupleType,
    Type,
    TypedDictType,
    TypeType,
    TypeVarType,
    UninhabitedType,
    UnionType,
    get_proper_type,
)

from engine.typecheck.context import (
    CONTEXT_MODULE,
    PRIVATE_PREFIX,
    SNIPPET_MODULE,
    TOOLS_ALIAS,
    TOOLS_MODULE,
    module_alias,
)

_TYPING = "typing"
#: A function's type variable ``T`` is declared as ``_cx_tv_<function>_x_T``; messages drop
#: the prefix again (``TYPEVAR_NAME``).
TYPEVAR_PREFIX = f"{PRIVATE_PREFIX}tv_"
TYPEVAR_NAME = re.compile(rf"{TYPEVAR_PREFIX}\w*?_x_")


class TypeText:
    """Renders types, remembering which modules the text refers to."""

    def __init__(self) -> None:
        self.modules: set[str] = set()
        #: while a function is written: its type variables, by the private name they get
        self._typevars: dict[str, TypeVarType] | None = None
        self._prefix = ""

    def _qualified(self, module: str, name: str) -> str:
        if module == "builtins":
            return name
        if module == TOOLS_MODULE:
            return f"{TOOLS_ALIAS}.{name}"
        self.modules.add(module)
        return f"{module_alias(module)}.{name}"

    def _any(self) -> str:
        return self._qualified(_TYPING, "Any")

    def render(self, typ: Type | None, depth: int = 0) -> str:
        t = get_proper_type(typ) if typ is not None else None
        if t is None or depth > 12:
            return self._any()
        if isinstance(t, NoneType):
            return "None"
        if isinstance(t, Instance):
            info = t.type
            module = info.module_name
            if module in (SNIPPET_MODULE, CONTEXT_MODULE):
                return self._any()
            head = self._qualified(module, info.fullname[len(module) + 1:])
            if info.fullname == "builtins.tuple" and t.args:
                return f"tuple[{self.render(t.args[0], depth + 1)}, ...]"
            if t.args:
                return f"{head}[{', '.join(self.render(a, depth + 1) for a in t.args)}]"
            return head
        if isinstance(t, LiteralType):
            return self.render(t.fallback, depth + 1)
        if isinstance(t, TupleType):
            if not t.items:
                return "tuple[()]"
            return "tuple[" + ", ".join(self.render(i, depth + 1) for i in t.items) + "]"
        if isinstance(t, UnionType):
            return " | ".join(dict.fromkeys(self.render(i, depth + 1) for i in t.items))
        if isinstance(t, TypeType):
            return f"type[{self.render(t.item, depth + 1)}]"
        if isinstance(t, TypedDictType):
            return f"dict[str, {self._any()}]"
        if isinstance(t, UninhabitedType):
            return self._qualified(_TYPING, "NoReturn")
        if isinstance(t, CallableType):
            callable_ = self._qualified(_TYPING, "Callable")
            ret = self.render(t.ret_type, depth + 1)
            simple = all(k == ARG_POS for k in t.arg_kinds)
            if t.is_ellipsis_args or not simple:
                return f"{callable_}[..., {ret}]"
            args = ", ".join(self.render(a, depth + 1) for a in t.arg_types)
            return f"{callable_}[[{args}], {ret}]"
        if isinstance(t, TypeVarType) and self._typevars is not None:
            private = f"{self._prefix}{t.name}"
            self._typevars.setdefault(private, t)
            return private
        return self._any()

    def typevar(self, name: str, values: list[Type], upper_bound: Type, variance: int) -> str:
        """The ``TypeVar(...)`` call that declares a type variable called ``name``."""
        parts = [f'"{name}"', *(self.render(v) for v in values)]
        bound = get_proper_type(upper_bound)
        if not values and not (isinstance(bound, Instance)
                               and bound.type.fullname == "builtins.object"):
            parts.append(f"bound={self.render(bound)}")
        if variance == COVARIANT:
            parts.append("covariant=True")
        elif variance == CONTRAVARIANT:
            parts.append("contravariant=True")
        return f"{self._qualified(_TYPING, 'TypeVar')}({', '.join(parts)})"

    def function(self, name: str, node: FuncDef) -> str:
        """A ``def`` stub that keeps parameter names, kinds and defaults, preceded by the
        declarations of its type variables."""
        self._typevars, self._prefix = {}, f"{TYPEVAR_PREFIX}{name}_x_"
        try:
            stub = self._function(name, node)
            declared = [f"{private} = {self.typevar(private, t.values, t.upper_bound, t.variance)}"
                        for private, t in list(self._typevars.items())]
        finally:
            self._typevars, self._prefix = None, ""
        return "\n".join([*declared, stub])

    def _function(self, name: str, node: FuncDef) -> str:
        typ = get_proper_type(node.type) if node.type is not None else None
        callable_type = typ if isinstance(typ, CallableType) else None
        params: list[str] = []
        saw_star = False
        positional_only = 0
        for i, argument in enumerate(node.arguments):
            kind = argument.kind
            arg_name = argument.variable.name
            annotation = (
                self.render(callable_type.arg_types[i]) if callable_type is not None
                and i < len(callable_type.arg_types) else self._any()
            )
            if argument.pos_only:
                positional_only = len(params) + 1
            if kind in (ARG_NAMED, ARG_NAMED_OPT) and not saw_star:
                params.append("*")
                saw_star = True
            prefix = {ARG_STAR: "*", ARG_STAR2: "**"}.get(kind, "")
            if kind == ARG_STAR:
                saw_star = True
            text = f"{prefix}{arg_name}: {annotation}"
            if kind in (ARG_OPT, ARG_NAMED_OPT):
                text += " = ..."
            params.append(text)
        if positional_only:
            params.insert(positional_only, "/")
        ret = self.render(callable_type.ret_type) if callable_type is not None else self._any()
        return f"def {name}({', '.join(params)}) -> {ret}: ..."

"""What earlier snippets of a session bound, as the type checker sees it.

A session is a sequence of snippets sharing globals. For the checker each earlier binding is a
declaration in a generated stub module (``_codeact_ctx.pyi``); the snippet's prelude imports
them under private names and rebinds them, so that a snippet may both use them with their
types and rebind them to values of another type, as one does in a REPL.

This module is pure data and text; it does not import mypy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

TOOLS_MODULE = "_codeact_tools"
CONTEXT_MODULE = "_codeact_ctx"
SNIPPET_MODULE = "_codeact_snippet"
TOOLS_ALIAS = "_t"
PRIVATE_PREFIX = "_cx_"

BindingKind = Literal["value", "function", "module"]


def module_alias(module: str) -> str:
    """The private name under which the context stub imports ``module``."""
    return "_m_" + module.replace(".", "__")


@dataclass(frozen=True)
class Binding:
    """A module-level name bound by a snippet.

    ``text`` is a type expression for values, a complete ``def`` stub for functions and the
    module's name for modules. ``modules`` are the modules ``text`` refers to.
    """

    name: str
    kind: BindingKind
    text: str
    modules: tuple[str, ...] = ()


@dataclass(frozen=True)
class SessionContext:
    """The bindings a session has accumulated, later snippets overriding earlier ones."""

    bindings: tuple[Binding, ...] = ()
    _by_name: Mapping[str, Binding] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {b.name: b for b in self.bindings})

    def extended(self, new: Iterable[Binding]) -> SessionContext:
        merged = dict(self._by_name)
        for binding in new:
            merged.pop(binding.name, None)  # re-bound names move to the end
            merged[binding.name] = binding
        return SessionContext(tuple(merged.values()))

    def without(self, names: Iterable[str]) -> SessionContext:
        drop = set(names)
        return SessionContext(tuple(b for b in self.bindings if b.name not in drop))

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._by_name)

    @property
    def modules(self) -> dict[str, str]:
        """Module bindings: the name in the snippet's namespace -> the module."""
        return {b.name: b.text for b in self.bindings if b.kind == "module"}

    def get(self, name: str) -> Binding | None:
        return self._by_name.get(name)

    def stub(self) -> str:
        """The ``_codeact_ctx.pyi`` stub that declares every non-module binding."""
        needed = sorted({m for b in self.bindings if b.kind != "module" for m in b.modules})
        lines = [
            "# Names bound by earlier snippets of this session (generated).",
            f"import {TOOLS_MODULE} as {TOOLS_ALIAS}",
            *(f"import {m} as {module_alias(m)}" for m in needed),
            "",
        ]
        for b in self.bindings:
            if b.kind == "value":
                lines.append(f"{b.name}: {b.text}")
            elif b.kind == "function":
                lines.append(b.text)
        return "\n".join(lines) + "\n"

    def prelude(self, exclude: Iterable[str] = ()) -> list[str]:
        """Lines placed before a snippet so that it sees the tools and this context.

        ``exclude`` are names the snippet itself declares (``def``, ``class``, ``x: T = ...``):
        mypy would otherwise call them redefinitions.
        """
        skip = set(exclude)
        lines = [f"from {TOOLS_MODULE} import *"]
        for b in self.bindings:
            if b.kind == "module" and b.name not in skip:
                top = b.text.split(".")[0]
                lines.append(f"import {b.text}" if b.name == top == b.text
                             else f"import {b.text} as {b.name}")
        declared = [b.name for b in self.bindings if b.kind != "module" and b.name not in skip]
        if declared:
            imports = ", ".join(f"{n} as {PRIVATE_PREFIX}{n}" for n in declared)
            lines.append(f"from {CONTEXT_MODULE} import {imports}")
            lines.append("; ".join(f"{n} = {PRIVATE_PREFIX}{n}" for n in declared))
        return lines

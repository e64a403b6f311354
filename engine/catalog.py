"""What the static stages know of the tools: names and descriptions, no functions.

The checks run in worker processes that never import the tools' code (it may hold clients and
credentials, and it is the host's, not the checker's). A ``ToolCatalog`` is the part of a
``ToolRegistry`` the policy rules and their hints read, small enough to send to a worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from engine.tools import ToolRegistry


class ToolEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    description: str = ""
    #: parameters that can be passed by position, in order (to name a positional argument)
    positional: tuple[str, ...] = ()


class ToolCatalog(BaseModel):
    """The tools' names and descriptions, and the names of the types they use."""

    model_config = ConfigDict(frozen=True)

    tools: tuple[ToolEntry, ...] = ()
    type_names: tuple[str, ...] = ()

    @classmethod
    def of(cls, registry: ToolRegistry) -> ToolCatalog:
        return cls(tools=tuple(ToolEntry(name=t.name, description=t.description,
                                         positional=t.positional_names)
                               for t in registry),
                   type_names=registry.type_names)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tools)

    def __iter__(self) -> Iterator[ToolEntry]:  # type: ignore[override]
        return iter(self.tools)

    def __contains__(self, name: object) -> bool:
        return any(t.name == name for t in self.tools)

    def get(self, name: str) -> ToolEntry | None:
        return next((t for t in self.tools if t.name == name), None)


__all__ = ["ToolCatalog", "ToolEntry"]

"""What the policy stage knows besides the snippet: the policy, the tools, the session so far.

Both the full check (``engine.policy.check``, on LibCST's tree) and the screen that clears
most snippets before it (``engine.policy.screen``, on CPython's) read it; it is kept apart
from the rules so that the screen does not import LibCST with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.catalog import ToolCatalog
from engine.policy.model import Policy
from engine.tools import ENGINE_NAMES

#: LibCST parses these keywords as names.
_KEYWORD_CONSTANTS = frozenset({"None", "True", "False"})


@dataclass(frozen=True)
class PolicyContext:
    """What the rules need besides the snippet: the policy, the tools, the session so far."""

    policy: Policy
    tools: ToolCatalog
    session_names: frozenset[str] = frozenset()
    session_modules: Mapping[str, str] = field(default_factory=dict)
    session_classes: frozenset[str] = frozenset()  # classes earlier snippets defined
    #: names earlier snippets imported from modules (``Enum`` -> ``enum.Enum``)
    session_imports: Mapping[str, str] = field(default_factory=dict)
    #: tools of the toolset that the policy does not permit
    denied_tools: frozenset[str] = frozenset()

    @property
    def readable_names(self) -> frozenset[str]:
        return (
            _KEYWORD_CONSTANTS
            | self.policy.allowed_builtins
            | frozenset(self.tools.names)
            | frozenset(self.tools.type_names)
            | frozenset(ENGINE_NAMES)
            | self.session_names
        )


def protected_names(ctx: PolicyContext) -> dict[str, str]:
    """Names a snippet may not rebind or delete for later snippets, and why."""
    why = {name: f"`{name}` is a tool; later snippets must reach the real one"
           for name in ctx.tools.names}
    why.update({name: f"`{name}` is a type of the tools' API" for name in ctx.tools.type_names})
    why.update({name: f"`{name}` is how a snippet answers; it cannot be replaced"
                for name in ENGINE_NAMES})
    if "print" in ctx.policy.allowed_builtins:
        why["print"] = "`print` is how a snippet shows output; it cannot be replaced"
    return why


__all__ = ["PolicyContext", "protected_names"]

"""A policy's ``[tools]`` section as the broker enforces it, call by call.

The static stage reports what it can see (a denied tool named in the snippet, P160; a literal
argument a rule refuses, P161), but only the broker sees every call: names built at run time,
arguments computed in a loop, and a compromised child that sends whatever it likes. So the
broker asks this before a tool runs, and a refusal stops the snippet (R216-R218).
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.policy.model import Policy, Tools

_SHOWN = 80


@dataclass(frozen=True)
class ToolPermissions:
    """The ``[tools]`` rules of one policy, with its name for the messages."""

    policy: str
    rules: Tools

    @classmethod
    def of(cls, policy: Policy) -> ToolPermissions | None:
        """None when the policy permits every tool with any arguments (nothing to check)."""
        return cls(policy.name, policy.tools) if policy.tools.restricted else None

    def denied(self, name: str) -> str | None:
        if self.rules.permits(name):
            return None
        return f"the tool {name}() is not permitted by policy {self.policy!r}"

    def over_limit(self, name: str, calls_before: int) -> str | None:
        limit = self.rules.calls.get(name)
        if limit is None or calls_before < limit:
            return None
        return (f"{name}() may be called at most {limit} time{'s' if limit != 1 else ''} per "
                f"snippet under policy {self.policy!r}")

    def refused_argument(self, name: str, arguments: Mapping[str, Any]) -> str | None:
        """Why one of the (validated, by parameter name) arguments breaks a rule, or None."""
        for parameter, rule in self.rules.arguments.get(name, {}).items():
            if parameter not in arguments:
                continue
            why = rule.violation(arguments[parameter])
            if why is not None:
                return (f"{name}({parameter}={_shown(arguments[parameter])}): `{parameter}` "
                        f"{why} (policy {self.policy!r})")
        return None


def _shown(value: Any) -> str:
    """A short text of a value a child sent: bounded, and never raising (a model nested 200
    deep overflows its own ``repr``)."""
    try:
        text = _REPR.repr(value)
    except Exception:  # RecursionError among them: the value is the snippet's, not ours
        text = f"<{type(value).__name__}>"
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, _SHOWN, _SHOWN


__all__ = ["ToolPermissions"]

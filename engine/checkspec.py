"""What a checker is started with, as data: the policy, the toolset and which stages run.

Kept apart from the checker (``engine.checks``) so that the engine's own process, which only
sends snippets to check workers, does not load the parser and the policy's rules.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from engine.catalog import ToolCatalog
from engine.diagnostics import Stage
from engine.policy.model import Policy


class CheckSpec(BaseModel):
    """Everything a checker needs, as data: what a check worker is started with."""

    model_config = ConfigDict(frozen=True)

    policy: Policy
    tools: ToolCatalog
    #: tools the toolset has and the policy does not permit: calling one is P160
    denied_tools: tuple[str, ...] = ()
    stubs: str
    check_policy: bool = True
    check_types: bool = True


#: Called as each stage starts, so that a supervisor knows where a check ran out of budget.
Progress = Callable[[Stage], None]


__all__ = ["CheckSpec", "Progress"]

"""What draws a rule's attention, apart from the rule: the names and policy switches that
both the full check's rules and the policy screen read.

The screen (``engine.policy.screen``) must leave to the full check every snippet a rule
could refuse, so it declines whatever a rule would look at. Reading the rules' own tables
rather than copies keeps the two from drifting apart; keeping the tables out of the rules'
modules keeps LibCST, which those import, out of a check worker until a snippet needs it.
"""

from __future__ import annotations

from engine.policy.model import Policy

#: Methods that read attributes named in a template string (``FormatRule``).
FORMAT_METHODS = ("format", "format_map")

#: Methods that call another method named by a string argument (pandas' and numpy's;
#: ``MethodCallRule``).
STRING_DISPATCH = frozenset({"agg", "aggregate", "apply", "transform", "pipe", "map"})

#: enum's classes: a snippet's class may derive from them, and a call of one makes a class
#: (``ClassRule``).
ENUM_FACTORIES = frozenset({"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag"})

#: Keywords by which a call names the module (or path) of the class it makes (``ClassRule``).
CLAIM_KEYWORDS = frozenset({"module", "qualname"})


def method_call_rule_applies(policy: Policy) -> bool:
    """Whether ``MethodCallRule`` has anything to look for under ``policy``."""
    # The standard library has no such methods: the default policy does not pay for it.
    return bool(policy.attributes.return_only or policy.third_party_modules)


def tool_argument_rule_applies(policy: Policy) -> bool:
    """Whether ``ToolArgumentRule`` has anything to look for under ``policy``."""
    return bool(policy.tools.arguments)


__all__ = ["CLAIM_KEYWORDS", "ENUM_FACTORIES", "FORMAT_METHODS", "STRING_DISPATCH",
           "method_call_rule_applies", "tool_argument_rule_applies"]

"""Literal tool arguments against the policy's ``[tools.arguments]`` rules (P161).

``send_email(to="x@elsewhere.org")`` breaks a rule the static stage can already see, so the
model hears about it before anything runs. Arguments computed at run time are the broker's
to check (R217); this rule only saves a turn.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from engine.policy.model import Policy
from engine.policy.rules import Findings, PolicyContext, Rule
from engine.policy.triggers import tool_argument_rule_applies

_NOT_LITERAL = object()


def _literal(node: cst.BaseExpression) -> Any:
    """The value of a string, number, boolean or None literal (``-5`` too), else a sentinel."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else _NOT_LITERAL
    if isinstance(node, (cst.Integer, cst.Float)):
        return node.evaluated_value
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) \
            and isinstance(node.expression, (cst.Integer, cst.Float)):
        return -node.expression.evaluated_value
    return _NOT_LITERAL


class ToolArgumentRule(Rule):
    """Calls of a tool by its name with a literal argument that a policy rule refuses."""

    @classmethod
    def applies(cls, policy: Policy) -> bool:
        return tool_argument_rule_applies(policy)

    def __init__(self, findings: Findings, ctx: PolicyContext) -> None:
        super().__init__(findings, ctx)
        self.rules = ctx.policy.tools.arguments

    def visit_Call(self, node: cst.Call) -> None:
        if not (isinstance(node.func, cst.Name) and node.func.value in self.rules):
            return
        name = node.func.value
        entry = self.ctx.tools.get(name)
        if entry is None or name in self.ctx.session_names:
            return  # not the tool here: the snippet's own function of that name
        for index, arg in enumerate(node.args):
            if arg.star:
                break  # *args/**kwargs: positions after it are unknown
            parameter = arg.keyword.value if arg.keyword is not None else (
                entry.positional[index] if index < len(entry.positional) else None)
            rule = self.rules[name].get(parameter) if parameter is not None else None
            value = _literal(arg.value)
            if rule is None or value is _NOT_LITERAL:
                continue
            why = rule.violation(value)
            if why is not None:
                self.findings.add(arg.value, "P161",
                                  f"{name}({parameter}={value!r}): `{parameter}` {why} "
                                  f"(policy {self.ctx.policy.name!r})",
                                  hint=f"`{parameter}` must be {rule.describe()}")


__all__ = ["ToolArgumentRule"]

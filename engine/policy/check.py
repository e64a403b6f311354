"""Stage 2: enforce the policy on a parsed snippet."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

import libcst as cst

from engine.diagnostics import Diagnostic
from engine.parsing import ParsedSnippet
from engine.policy.classes import ClassRule
from engine.policy.method_calls import MethodCallRule
from engine.policy.receivers import ReceiverRule
from engine.policy.rules import (
    AttributeRule,
    Findings,
    FormatRule,
    IdentifierRule,
    ImportRule,
    PolicyContext,
    Rule,
    RuleRun,
    SizeRule,
    SyntaxRule,
    check_names,
)
from engine.policy.tool_calls import ToolArgumentRule

#: Every policy rule, in the order their ``finish`` runs (a rule may read an earlier one's).
RULES: tuple[type[Rule], ...] = (
    SizeRule, IdentifierRule, ImportRule, AttributeRule, SyntaxRule, FormatRule,
    ToolArgumentRule, MethodCallRule, ClassRule, ReceiverRule,
)


class RuleContractError(TypeError):
    """A rule defines a hook the policy's traversal would not call."""


@cache
def _hooks(rule: type[Rule]) -> tuple[tuple[str, str], ...]:
    """The ``(visit|leave, Node)`` hooks a rule class defines, looked up once per class.

    LibCST's visitors may also define ``visit_<Node>_<attribute>``; the traversal here does
    not call those, so a rule that defines one (or a hook for a node LibCST does not have)
    is refused rather than silently never run.
    """
    # Only what the rules define: LibCST's base classes define a no-op for every hook, and
    # calling those on every node cost more than the rules' own work.
    own = {name for klass in rule.__mro__ if not klass.__module__.startswith("libcst")
           for name in vars(klass)}
    hooks: list[tuple[str, str]] = []
    for name in sorted(own):
        phase, _, node = name.partition("_")
        if phase not in ("visit", "leave") or not node or not callable(getattr(rule, name)):
            continue
        if not isinstance(getattr(cst, node, None), type):
            raise RuleContractError(
                f"{rule.__name__}.{name}: the policy's traversal calls only visit_<Node> and "
                "leave_<Node> for LibCST node classes")
        hooks.append((phase, node))
    return tuple(hooks)


class _Dispatch(cst.CSTVisitor):
    """One traversal for all rules.

    LibCST's ``visit_batched`` does the same but inspects every visitor's members on every
    call, which costs more than the traversal itself on a short snippet.
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._visit: dict[str, list[Callable[[cst.CSTNode], object]]] = {}
        self._leave: dict[str, list[Callable[[cst.CSTNode], object]]] = {}
        for rule in rules:
            for phase, node in _hooks(type(rule)):
                table = self._visit if phase == "visit" else self._leave
                table.setdefault(node, []).append(getattr(rule, f"{phase}_{node}"))

    def on_visit(self, node: cst.CSTNode) -> bool:
        for handler in self._visit.get(type(node).__name__, ()):
            handler(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        for handler in self._leave.get(type(original_node).__name__, ()):
            handler(original_node)


def check_policy(snippet: ParsedSnippet, ctx: PolicyContext) -> list[Diagnostic]:
    """Every policy violation in the snippet, in source order."""
    findings = Findings(snippet)
    rules = [kind(findings, ctx) for kind in RULES if kind.applies(ctx.policy)]
    snippet.module.visit(_Dispatch(rules))
    run = RuleRun(snippet, ctx, findings, rules,
                  frozenset(check_names(snippet, ctx, findings)))
    for rule in rules:
        rule.finish(run)
    return findings.diagnostics()

"""Every policy rule follows one contract (``engine.policy.rules.Rule``), and the one traversal
that runs them calls every hook a rule defines or refuses the rule: LibCST visitors may also
define ``visit_<Node>_<attr>`` hooks, which the traversal does not call, and a rule that relied
on one would have checked nothing without a word."""

from __future__ import annotations

import libcst as cst
import pytest

from engine import Engine, load_tools
from engine.catalog import ToolCatalog
from engine.parsing import ParsedSnippet, parse
from engine.policy.check import RULES, RuleContractError, _Dispatch, _hooks
from engine.policy.model import Policy
from engine.policy.rules import Findings, PolicyContext, Rule, RuleRun


def parsed(source: str) -> ParsedSnippet:
    snippet = parse(source)
    assert isinstance(snippet, ParsedSnippet)
    return snippet


def context() -> PolicyContext:
    registry = load_tools("examples.toolsets.users")
    return PolicyContext(Policy.load("default"), ToolCatalog.of(registry))


def test_every_registered_rule_keeps_the_contract() -> None:
    assert len(set(RULES)) == len(RULES)
    for rule in RULES:
        assert issubclass(rule, Rule)
        _hooks(rule)  # raises if a hook would not be called


def test_visit_and_leave_hooks_both_run_in_order() -> None:
    seen: list[str] = []

    class Nesting(Rule):
        def visit_Call(self, node: cst.Call) -> None:
            seen.append(f"visit {cst.Module([]).code_for_node(node.func)}")

        def leave_Call(self, original_node: cst.Call) -> None:
            seen.append(f"leave {cst.Module([]).code_for_node(original_node.func)}")

    snippet = parsed("f(g(1))\n")
    rule = Nesting(Findings(snippet), context())
    snippet.module.visit(_Dispatch([rule]))
    assert seen == ["visit f", "visit g", "leave g", "leave f"]


def test_a_per_attribute_hook_is_refused_not_skipped() -> None:
    class Attr(Rule):
        def visit_Call_func(self, node: cst.Call) -> None:
            raise AssertionError("never called by the traversal")

    with pytest.raises(RuleContractError, match=r"Attr\.visit_Call_func"):
        _Dispatch([Attr(Findings(parsed("f()\n")), context())])


def test_a_hook_for_no_node_is_refused() -> None:
    class Typo(Rule):
        def visit_Nmae(self, node: cst.Name) -> None:
            raise AssertionError("no such node")

    with pytest.raises(RuleContractError, match=r"Typo\.visit_Nmae"):
        _hooks(Typo)


def test_finish_runs_after_the_traversal_with_the_other_rules() -> None:
    order: list[str] = []

    class First(Rule):
        def visit_Name(self, node: cst.Name) -> None:
            order.append(f"name {node.value}")

        def finish(self, run: RuleRun) -> None:
            order.append("first finish")

    class Second(Rule):
        def finish(self, run: RuleRun) -> None:
            first = run.rule(First)
            order.append(f"second sees first: {first is not None}")

    snippet = parsed("x\n")
    ctx = context()
    findings = Findings(snippet)
    rules: list[Rule] = [First(findings, ctx), Second(findings, ctx)]
    snippet.module.visit(_Dispatch(rules))
    run = RuleRun(snippet, ctx, findings, rules)
    for rule in rules:
        rule.finish(run)
    assert order == ["name x", "first finish", "second sees first: True"]


def test_rules_a_policy_makes_moot_are_left_out() -> None:
    strict = Policy.load("strict")
    applied = {rule.__name__ for rule in RULES if rule.applies(strict)}
    assert "ClassRule" not in applied and "ToolArgumentRule" not in applied
    with Engine(load_tools("examples.toolsets.users"), "default") as engine:
        # the size rule's leave hook ends its suppression: two separate findings
        report = engine.check("a = 'x' * 10**9\nb = 'y' * 10**9\n")
    assert [d.code for d in report.diagnostics] == ["P152", "P152"]

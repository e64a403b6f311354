"""Stage 2: enforce the policy on a parsed snippet."""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from functools import cache

import libcst as cst

from engine import codes
from engine.diagnostics import Diagnostic
from engine.parsing import ParsedSnippet
from engine.policy.classes import ClassRule
from engine.policy.method_calls import MethodCallRule
from engine.policy.model import Policy
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


def check_source_size(source: str, policy: Policy) -> Diagnostic | None:
    """The one policy limit that applies before parsing: parsing itself must stay cheap."""
    size = len(source.encode("utf-8", "surrogatepass"))
    limit = policy.limits.max_source_bytes
    if size <= limit:
        return None
    return codes.diagnostic("P100", f"the snippet is {size} bytes; the policy allows {limit}",
                            source_line="")


def lone_surrogate(source: str) -> Diagnostic | None:
    """A lone surrogate (half of a UTF-16 pair, e.g. from bytes decoded with
    ``surrogateescape``) makes the snippet not text: it cannot be encoded, so it cannot be
    parsed or sent anywhere. Reported as a syntax error at its position."""
    try:
        source.encode("utf-8")
        return None
    except UnicodeEncodeError as exc:
        index = exc.start
    line = source.count("\n", 0, index) + 1
    column = index - (source.rfind("\n", 0, index) + 1) + 1
    code_point = f"U+{ord(source[index]):04X}"
    return codes.diagnostic(
        "S001", (f"the snippet holds a lone surrogate ({code_point}), which is not text; "
                 f"remove it, or write it as an escape inside a string "
                 f"('\\u{ord(source[index]):04x}')"),
        source=source.encode("utf-8", "replace").decode("utf-8"), line=line, column=column)


def check_tree_size(tree: ast.Module, source: str, policy: Policy) -> list[Diagnostic]:
    """Nodes and nesting depth of CPython's tree of the snippet, before any costly analysis.

    Counted on ``ast`` (expression contexts aside), which CPython builds in microseconds; the
    rules and the type checker only ever see snippets within these bounds.
    """
    limits = policy.limits
    nodes = 0
    deepest: tuple[int, ast.AST] | None = None
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if depth > limits.max_depth and deepest is None:
            deepest = (depth, node)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node)
                     if not isinstance(child, ast.expr_context))
    found: list[Diagnostic] = []
    if deepest is not None:
        line = getattr(deepest[1], "lineno", 1)
        column = getattr(deepest[1], "col_offset", 0) + 1
        found.append(_limit("P151", source, f"the code nests more than {limits.max_depth} "
                                            "levels deep", line, column))
    if nodes > limits.max_nodes:
        found.append(_limit("P150", source, f"the snippet has {nodes} syntax nodes; the limit "
                                            f"is {limits.max_nodes}", 1, 1))
    return found


def _limit(code: codes.CodeName, source: str, message: str, line: int,
           column: int) -> Diagnostic:
    return codes.diagnostic(code, message, source=source, line=line, column=column)


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

"""Stage 2: enforce the policy on a parsed snippet."""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from functools import cache

import libcst as cst

from engine import codes
from engine.diagnostics import Diagnostic
from engine.parse import ParsedSnippet
from engine.policy.classes import ClassRule
from engine.policy.model import Policy
from engine.policy.receivers import resolve_receiver_reads
from engine.policy.rules import (
    AttributeRule,
    Findings,
    FormatRule,
    IdentifierRule,
    ImportRule,
    PolicyContext,
    SizeRule,
    SyntaxRule,
    check_names,
)
from engine.policy.tool_calls import ToolArgumentRule


@cache
def _handled_nodes(rule: type[cst.BatchableCSTVisitor]) -> tuple[str, ...]:
    """The ``visit_<Node>`` methods a rule class defines (looked up once per class)."""
    return tuple(name[len("visit_"):] for name in dir(rule)
                 if name.startswith("visit_") and hasattr(cst, name[len("visit_"):]))


class _Dispatch(cst.CSTVisitor):
    """One traversal for all rules.

    LibCST's ``visit_batched`` does the same but inspects every visitor's members on every
    call, which costs more than the traversal itself on a short snippet.
    """

    def __init__(self, rules: Sequence[cst.BatchableCSTVisitor], size: SizeRule) -> None:
        self._size = size
        self._handlers: dict[str, list[Callable[[cst.CSTNode], object]]] = {}
        for rule in rules:
            for node_name in _handled_nodes(type(rule)):
                handler = getattr(rule, f"visit_{node_name}")
                self._handlers.setdefault(node_name, []).append(handler)

    def on_visit(self, node: cst.CSTNode) -> bool:
        self._size.before_visit(node)
        for handler in self._handlers.get(type(node).__name__, ()):
            handler(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self._size.after_leave(original_node)


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
    imports = ImportRule(findings, ctx)
    attributes = AttributeRule(findings, ctx)
    size = SizeRule(findings, ctx)
    rules: list[cst.BatchableCSTVisitor] = [
        IdentifierRule(findings), imports, attributes, SyntaxRule(findings, ctx),
        FormatRule(findings)]
    if ctx.policy.tools.arguments:
        rules.append(ToolArgumentRule(findings, ctx))
    classes = None
    if "class" not in ctx.policy.forbidden_syntax:
        classes = ClassRule(findings, ctx)
        rules.append(classes)
    snippet.module.visit(_Dispatch(rules, size))
    if classes is not None:
        classes.resolve_bases(snippet.scopes, snippet.global_scope, ctx.session_classes,
                              dict(ctx.session_modules))
    non_import = check_names(snippet, ctx, findings)
    aliases = {k: v for k, v in ctx.session_modules.items() if k not in snippet.module_bindings}
    aliases.update({k: v for k, v in imports.aliases.items() if k not in non_import})
    attributes.resolve_modules(aliases, findings, frozenset(non_import))
    resolve_receiver_reads(attributes.receiver_reads, findings, ctx)
    return findings.diagnostics()

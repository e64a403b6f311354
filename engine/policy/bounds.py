"""The policy's bounds that apply before any costly analysis: bytes, then nodes and depth.

Only the standard library's parser is used here, so that what must stay cheap (the engine's
own process refusing an oversized snippet before sending it to a check worker) does not load
LibCST.
"""

from __future__ import annotations

import ast

from engine import codes
from engine.diagnostics import Diagnostic
from engine.policy.model import Policy


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


__all__ = ["check_source_size", "check_tree_size", "lone_surrogate"]

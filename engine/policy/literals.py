"""The size rule's estimate of the values constant expressions build, on LibCST's tree.

``10**10**10`` or ``'a' * 10**9`` would exhaust memory or CPU long before a limit could act,
yet their size is visible in the source. Sizes are estimated bottom-up on the syntax tree;
the arithmetic, shared with the policy screen's estimate on CPython's tree, is
``engine.policy.sizes``.
"""

from __future__ import annotations

import libcst as cst

from engine.policy.sizes import Sized, combine, negated, sized_int


def estimate(node: cst.BaseExpression) -> Sized | None:
    """The estimated size of a constant expression's value, or None when not constant."""
    if isinstance(node, cst.Integer):
        return sized_int(int(node.evaluated_value))
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return Sized("bytes" if isinstance(value, bytes) else "str", len(value))
    if isinstance(node, cst.ConcatenatedString):
        left, right = estimate(node.left), estimate(node.right)
        if left is None or right is None:
            return None
        return Sized(left.kind, left.size + right.size)
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return Sized("seq", len(node.elements))
    if isinstance(node, cst.UnaryOperation):
        return negated(estimate(node.expression))
    if isinstance(node, cst.BinaryOperation):
        return _binary(node)
    return None


def _binary(node: cst.BinaryOperation) -> Sized | None:
    left, right = estimate(node.left), estimate(node.right)
    if left is None or right is None:
        return None
    return combine(left, _OPERATORS.get(type(node.operator)), right)


_OPERATORS: dict[type, str] = {cst.Power: "pow", cst.LeftShift: "lshift",
                               cst.Multiply: "mul", cst.Add: "add"}

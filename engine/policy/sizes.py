"""Size the values that constant expressions build, without building them: the arithmetic,
and the estimate on CPython's tree.

``10**10**10`` or ``'a' * 10**9`` would exhaust memory or CPU long before a limit could act,
yet their size is visible in the source. Sizes are estimated bottom-up on the syntax tree.
The size rule estimates on LibCST's tree (``engine.policy.literals``), the policy screen on
CPython's (``estimate_ast``); both combine sizes here, so the two give the same sizes, and
the screen does not import LibCST to do so.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

_POINTER_BYTES = 8
_EXACT_BITS = 64  # exact values are kept only while they are small


@dataclass(frozen=True)
class Sized:
    kind: str  # "int", "str", "bytes", "seq"
    size: int  # bits for int, items for str/bytes/seq
    value: int | None = None  # exact value of a small int

    @property
    def nbytes(self) -> int:
        if self.kind == "int":
            return self.size // 8 + 1
        if self.kind == "seq":
            return self.size * _POINTER_BYTES
        return self.size


def sized_int(value: int) -> Sized:
    """The size of an int literal (exact while it is small)."""
    bits = abs(value).bit_length()
    return Sized("int", bits, value if bits <= _EXACT_BITS else None)


def negated(inner: Sized | None) -> Sized | None:
    """The size of a unary operator's result on ``inner`` (only integers are sized)."""
    if inner is None or inner.kind != "int":
        return None
    return Sized("int", inner.size, None if inner.value is None else -inner.value)


def combine(left: Sized, op: str | None, right: Sized) -> Sized | None:
    """The size of ``left <op> right`` (``op``: pow, lshift, mul, add), or None."""
    if op == "pow" and left.kind == right.kind == "int":
        if left.value is not None and abs(left.value) <= 1:
            return sized_int(1)
        if right.value is None:
            return Sized("int", 1 << 62)
        if right.value < 0:
            return None  # a float
        bits = left.size * right.value
        if bits <= _EXACT_BITS and left.value is not None:
            return sized_int(left.value ** right.value)
        return Sized("int", bits)
    if op == "lshift" and left.kind == right.kind == "int":
        shift = right.value if right.value is not None else 1 << 62
        bits = left.size + max(shift, 0)
        if bits <= _EXACT_BITS and left.value is not None:
            return sized_int(left.value << max(shift, 0))
        return Sized("int", bits)
    if op == "mul":
        if left.kind == right.kind == "int":
            if left.value is not None and right.value is not None:
                return sized_int(left.value * right.value)
            return Sized("int", left.size + right.size)
        seq, count = (left, right) if right.kind == "int" else (right, left)
        if count.kind != "int" or seq.kind == "int":
            return None
        times = count.value if count.value is not None else 1 << 62
        return Sized(seq.kind, seq.size * max(times, 0))
    if op == "add" and left.kind == right.kind:
        if left.kind == "int":
            if left.value is not None and right.value is not None:
                return sized_int(left.value + right.value)
            return Sized("int", max(left.size, right.size) + 1)
        return Sized(left.kind, left.size + right.size)
    return None


_AST_OPERATORS: dict[type, str] = {ast.Pow: "pow", ast.LShift: "lshift", ast.Mult: "mul",
                                   ast.Add: "add"}


def estimate_ast(node: ast.expr) -> Sized | None:
    """The size rule's estimate (``literals.estimate``) on CPython's tree: the same sizes."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, str, bytes)):
            return None  # LibCST reads True/False as names; floats are not sized
        if isinstance(value, int):
            return sized_int(value)
        return Sized("bytes" if isinstance(value, bytes) else "str", len(value))
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return Sized("seq", len(node.elts))
    if isinstance(node, ast.UnaryOp):
        return negated(estimate_ast(node.operand))
    if isinstance(node, ast.BinOp):
        left, right = estimate_ast(node.left), estimate_ast(node.right)
        if left is None or right is None:
            return None
        return combine(left, _AST_OPERATORS.get(type(node.op)), right)
    return None


__all__ = ["Sized", "combine", "estimate_ast", "sized_int"]

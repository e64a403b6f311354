"""The special methods a snippet's own classes may define, and reach through ``super()``.

Ordinary protocol methods only: the ones an operator, a builtin or a statement calls on the
snippet's own objects while the snippet runs. See ``engine.policy.classes`` for what is
refused and why.
"""

from __future__ import annotations

#: Special methods a snippet's class may define (and reach through ``super()``).
CLASS_DUNDERS = frozenset({
    "__init__", "__post_init__", "__repr__", "__str__", "__format__", "__bool__", "__hash__",
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
    "__len__", "__iter__", "__next__", "__reversed__", "__contains__",
    "__getitem__", "__setitem__", "__delitem__", "__missing__",
    "__call__", "__enter__", "__exit__",
    "__add__", "__sub__", "__mul__", "__matmul__", "__truediv__", "__floordiv__", "__mod__",
    "__divmod__", "__pow__", "__lshift__", "__rshift__", "__and__", "__xor__", "__or__",
    "__radd__", "__rsub__", "__rmul__", "__rmatmul__", "__rtruediv__", "__rfloordiv__",
    "__rmod__", "__rdivmod__", "__rpow__", "__rlshift__", "__rrshift__", "__rand__",
    "__rxor__", "__ror__",
    "__iadd__", "__isub__", "__imul__", "__imatmul__", "__itruediv__", "__ifloordiv__",
    "__imod__", "__ipow__", "__ilshift__", "__irshift__", "__iand__", "__ixor__", "__ior__",
    "__neg__", "__pos__", "__abs__", "__invert__", "__round__", "__trunc__", "__floor__",
    "__ceil__", "__int__", "__float__", "__complex__", "__index__",
})


def is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def is_receiver_private(name: str) -> bool:
    """A private name a method may use on its own receiver: ``_name`` and ``__name``
    (mangled), not sunder ``_name_`` (enum machinery) nor dunders."""
    return name.startswith("_") and not name.endswith("_")


__all__ = ["CLASS_DUNDERS", "is_dunder", "is_receiver_private"]

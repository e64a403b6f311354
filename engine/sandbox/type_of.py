"""The sandbox's ``type``: the class of a value, when the snippet could name that class anyway.

``type(x).__name__``, ``type(x) is int`` and ``type(self)(...)`` are everyday Python. The real
``type`` also makes classes from a dict (``type(name, bases, namespace)``, outside the rules
for classes) and hands out classes no snippet can name: ``type`` itself, ``super``, function,
module and generator types. So in the sandbox ``type`` takes exactly one argument and answers
only with a class the snippet could reach by name: an allowed builtin, a public class of an
allowed module, a tool's type, a builtin exception class or one of the snippet's own classes
(the engine's own exceptions, which a snippet can catch in an ``__exit__``, are not).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from typing import Any

from engine.sandbox.own_classes import is_own_class


def reachable_classes(*namespaces: Iterable[Any]) -> frozenset[type]:
    """The classes among the values of the snippet's namespaces (builtins, module views,
    tool types), and the classes of ``None``, ``...`` and ``NotImplemented``
    (``type(x) is type(None)``)."""
    found = {v for values in namespaces for v in values
             if isinstance(v, type) and not issubclass(v, type)}
    return frozenset(found | {type(None), type(...), type(NotImplemented)})


def make_type_of(reachable: frozenset[type]) -> Callable[[Any], type]:
    def type_of(*args: Any, **kwargs: Any) -> type:
        if len(args) != 1 or kwargs:
            raise TypeError("type() takes exactly one argument in the sandbox; write a "
                            "`class` statement to make a class")
        cls = builtins.type(args[0])
        if cls in reachable or is_own_class(cls) or (
                issubclass(cls, BaseException) and cls.__module__ == "builtins"):
            return cls
        raise TypeError(f"type() of a {cls.__name__!r} value is not available in the "
                        "sandbox; use isinstance() to test what a value is")

    type_of.__name__ = type_of.__qualname__ = "type"
    type_of.__doc__ = "type(object) -> the object's class (one argument only in the sandbox)"
    return type_of


__all__ = ["make_type_of", "reachable_classes"]

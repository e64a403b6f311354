"""Methods that use their receiver's private attributes take only the snippet's objects.

The policy lets a class's own methods use ``self._name`` (``engine.policy.receivers``); what
it cannot see statically is the method taken from its class and called with another object
as ``self``: ``Counter.bump(shared_object)``. Each class a snippet's ``class`` statement makes
therefore has such methods (and property accessors) replaced, once the class exists, by ones
that refuse a receiver whose class the snippet did not make (``own_classes``). Methods that use
no private name are left exactly as written.
"""

from __future__ import annotations

import builtins
import types
from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeGuard

from engine.policy.special_methods import is_receiver_private
from engine.sandbox.own_classes import SNIPPET_MODULE, building, is_own_class, register


def _uses_private(code: types.CodeType) -> bool:
    """Whether the code (or code nested in it: closures, comprehensions) names a private
    attribute; attribute names and globals share ``co_names``, so this errs on the safe side."""
    return any(is_receiver_private(name) for name in code.co_names) or any(
        isinstance(const, types.CodeType) and _uses_private(const) for const in code.co_consts)


def _needs_guard(value: object) -> TypeGuard[types.FunctionType]:
    return (isinstance(value, types.FunctionType) and value.__module__ == SNIPPET_MODULE
            and _uses_private(value.__code__))


def own_receiver(function: types.FunctionType) -> Callable[..., Any]:
    """``function`` refusing a first argument that is not an object of a snippet's class."""
    def method(self: Any, /, *args: Any, **kwargs: Any) -> Any:
        if not is_own_class(type(self)):
            raise TypeError(
                f"{function.__name__}() uses private attributes of `self`: call it on an object "
                f"of the class, not with {type(self).__name__!r} as `self`")
        return function(self, *args, **kwargs)

    method.__name__ = function.__name__
    method.__qualname__ = function.__qualname__
    method.__doc__ = function.__doc__
    return method


def _guarded(value: object) -> object | None:
    """The replacement for a class attribute, or None when it needs none."""
    if _needs_guard(value):
        return own_receiver(value)
    if isinstance(value, property):
        accessors: tuple[Any, ...] = (value.fget, value.fset, value.fdel)
        if any(_needs_guard(a) for a in accessors):
            fget, fset, fdel = (own_receiver(a) if _needs_guard(a) else a for a in accessors)
            return property(fget, fset, fdel, value.__doc__)
    if isinstance(value, cached_property) and _needs_guard(value.func):
        value.func = own_receiver(value.func)
    return None


def guard_class(cls: type) -> None:
    """Replace the methods of ``cls`` that use private attributes (see the module's doc)."""
    for name, value in list(vars(cls).items()):
        replacement = _guarded(value)
        if replacement is not None:
            setattr(cls, name, replacement)


def build_class(body: Callable[..., Any], name: str, *bases: Any, **keywords: Any) -> Any:
    """The sandbox's ``__build_class__``: the ordinary one, then the class is recorded as
    the snippet's (``own_classes``) and :func:`guard_class` runs."""
    with building(getattr(body, "__qualname__", name)):
        cls = builtins.__build_class__(body, name, *bases, **keywords)
    if isinstance(cls, type):
        register(cls)
        guard_class(cls)
    return cls


__all__ = ["build_class", "guard_class", "own_receiver"]

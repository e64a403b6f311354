"""Which classes the snippets of this session made: a registry the snippets cannot write.

Several guards in the sandbox ask "is this the snippet's own object?": the write barrier,
a method that uses ``self._name``, ``type()``, ``dataclass``. A class's ``__module__`` cannot
answer it: it is an ordinary attribute, and anything that sets attributes by name (``copy``'s
reconstruction of a reduced object, a class dict handed to a factory) can make a shared class
claim to be the snippet's. So the classes are recorded where they are made: the sandbox's
``__build_class__``, enum's and namedtuple's factories, and the class decorators that return
a new class (``dataclass(slots=True)``).
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator
from typing import Any

SNIPPET_MODULE = "__snippet__"

#: Held strongly: a session's classes live as long as its process, and a weak set would
#: make a weak reference on every check (the write barrier asks on every attribute store).
_OWN: set[type] = set()
#: The tools' models: the classes are shared, their objects are per-call data the snippet owns
#: (``user = get_user(1); user.name = "x"; save(user)``).
_DATA: set[type] = set()
#: Classes a ``class`` statement is making right now, by (module, qualname): an enum's
#: members are made, and their ``__init__`` run, before the statement returns the class.
_BUILDING: list[tuple[str, str]] = []
#: Verdicts of ``is_own_class`` and of "its objects are the snippet's", by class.
_CLASS_VERDICTS: dict[type, bool] = {}
INSTANCE_VERDICTS: dict[type, bool] = {}


def register(cls: Any) -> Any:
    """Record ``cls`` (if it is a class) as made by a snippet; returns it unchanged."""
    if isinstance(cls, type):
        _OWN.add(cls)
        _CLASS_VERDICTS.clear()
        INSTANCE_VERDICTS.clear()
    return cls


def register_data(cls: type) -> None:
    """Record a class whose objects (not the class) are the snippet's to change."""
    _DATA.add(cls)
    INSTANCE_VERDICTS.clear()


def is_own_class(cls: type) -> bool:
    """``cls`` or one of its bases was made by a snippet."""
    verdict = _CLASS_VERDICTS.get(cls)
    if verdict is None:
        try:
            mro = type.__dict__["__mro__"].__get__(cls)
        except TypeError:
            mro = (cls,)
        verdict = _CLASS_VERDICTS[cls] = any(base in _OWN for base in mro)
    return verdict


@contextlib.contextmanager
def building(qualname: str) -> Iterator[None]:
    """While a snippet's ``class`` statement makes the class ``qualname``."""
    _BUILDING.append((SNIPPET_MODULE, qualname))
    try:
        yield
    finally:
        _BUILDING.pop()


def _being_built(cls: type) -> bool:
    if not _BUILDING:
        return False
    module = type.__dict__["__dict__"].__get__(cls).get("__module__")
    return (module, type.__dict__["__qualname__"].__get__(cls)) in _BUILDING


def objects_are_own(cls: type) -> bool:
    """Objects of ``cls`` are the snippet's: its class is the snippet's (or is being made by
    the snippet's class statement), or a tool's model."""
    verdict = INSTANCE_VERDICTS.get(cls)
    if verdict is None:
        if _being_built(cls):
            return True  # not cached: the statement registers the class when it returns
        verdict = INSTANCE_VERDICTS[cls] = is_own_class(cls) or cls in _DATA
    return verdict


def is_own(obj: Any) -> bool:
    """An object of a snippet's class, a snippet's class itself, or a snippet's function."""
    if objects_are_own(type(obj)):
        return True
    if isinstance(obj, type):
        return is_own_class(obj)
    return isinstance(obj, types.FunctionType) and obj.__module__ == SNIPPET_MODULE


__all__ = ["INSTANCE_VERDICTS", "SNIPPET_MODULE", "building", "is_own", "is_own_class",
           "objects_are_own", "register", "register_data"]

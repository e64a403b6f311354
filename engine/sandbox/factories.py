"""Class factories a snippet may call make classes from member names only.

``Enum("X", names)`` builds a class from whatever ``names`` holds: given a mapping, its keys
become class attributes, ``__del__`` and ``__getattr__`` included, and ``module=``/
``qualname=``/``type=`` choose where the class claims to come from and which class it
extends. The policy refuses what it can see (P135), but a callee reached through an alias or a
snippet's own empty enum, or keywords passed as ``**options``, are not visible to it. So in
the sandbox the factories check what they are given, whatever the call looked like: member
names are identifiers without a leading underscore, copied into a plain list before anything
else reads them; no ``module``, ``qualname`` or ``type``. The classes they make are recorded
as the snippet's own (``own_classes``).
"""

from __future__ import annotations

import collections
import enum
import sys
from collections.abc import Callable, Mapping
from typing import Any

from engine.sandbox.own_classes import SNIPPET_MODULE, register


def _member(name: object) -> str:
    if type(name) is not str or not name.isidentifier() or name.startswith("_"):
        raise TypeError(f"an enum member name must be an identifier that does not start with "
                        f"an underscore, not {name!r}")
    return name


def _safe_names(names: Any) -> str | list[str] | list[tuple[str, Any]]:
    """``names`` as a fresh builtin list (or the checked string): nothing the snippet made is
    read twice, so it cannot answer differently the second time."""
    if type(names) is str:
        for name in names.replace(",", " ").split():
            _member(name)
        return names
    if isinstance(names, Mapping):
        keys = list(names)
        return [(_member(key), names[key]) for key in keys]
    items = list(names)
    if all(type(item) is str for item in items):
        return [_member(item) for item in items]
    pairs: list[tuple[str, Any]] = []
    for item in items:
        key, value = item
        pairs.append((_member(key), value))
    return pairs


def _caller_module() -> str:
    frame = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__") == "enum":
        frame = frame.f_back  # type: ignore[assignment]
    return str(frame.f_globals.get("__name__", SNIPPET_MODULE)) if frame else SNIPPET_MODULE


def guard_enum_factory() -> None:
    """Replace ``EnumType._create_`` (what ``Enum("X", names)`` calls) in this process."""
    original: Callable[..., Any] = enum.EnumType._create_  # type: ignore[attr-defined]
    if getattr(original, "_codeact_guarded", False):
        return

    def _create_(cls: Any, class_name: str, names: Any, *, module: Any = None,
                 qualname: Any = None, type: Any = None, start: int = 1,
                 boundary: Any = None) -> Any:
        if module is not None or qualname is not None or type is not None:
            raise TypeError("Enum(...) takes no module=, qualname= or type= in the sandbox")
        if boundary is not None and not isinstance(boundary, enum.FlagBoundary):
            raise TypeError("boundary= must be an enum.FlagBoundary")
        if not (isinstance(class_name, str) and class_name.isidentifier()):
            raise TypeError("an enum's name must be an identifier")
        made = original(cls, class_name, _safe_names(names), module=_caller_module(),
                        start=start, boundary=boundary)
        return register(made)

    _create_._codeact_guarded = True  # type: ignore[attr-defined]
    enum.EnumType._create_ = _create_  # type: ignore[attr-defined]


def namedtuple(typename: str, field_names: Any, *, rename: bool = False,
               defaults: Any = None, module: Any = None) -> Any:
    """``collections.namedtuple`` as the sandbox hands it out: no ``module=``; the class is
    the snippet's own."""
    if module is not None:
        raise TypeError("namedtuple() takes no module= in the sandbox")
    factory: Callable[..., Any] = collections.namedtuple
    made = factory(typename, field_names, rename=rename, defaults=defaults,
                   module=SNIPPET_MODULE)
    return register(made)


namedtuple.__doc__ = collections.namedtuple.__doc__

#: Module attributes the sandbox's module views replace with the guarded versions above.
VIEW_FACTORIES: dict[tuple[str, str], Callable[..., Any]] = {
    ("collections", "namedtuple"): namedtuple,
}


__all__ = ["VIEW_FACTORIES", "guard_enum_factory", "namedtuple"]

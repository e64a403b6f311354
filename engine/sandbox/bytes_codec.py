"""Bytes in tool arguments and results, carried exactly through JSON frames.

JSON has no bytes, and pydantic writes bytes as UTF-8 text, which fails for ``b"\\x00\\xff"``.
So wherever a tool's arguments or result may hold bytes, each ``bytes`` value travels as
``{"$bytes": "<base64>"}`` and is turned back into ``bytes`` on the other side, at any depth
and under any declared type (``Any`` too). A dict whose only key is ``"$bytes"`` with a string
value is therefore read as bytes: that key is reserved.

Both walks are loops, not recursion: the parent runs them on data a child sent, at whatever
depth its own caller's stack already is, so nesting must not be able to raise RecursionError.
The session child uses this module inside its serve loop: the functions it calls are captured
here when the module is imported, before any snippet runs.
"""

from __future__ import annotations

import binascii
from typing import Any

from pydantic import BaseModel

TAG = "$bytes"
#: How a tag appears in JSON text: a body without it needs no walk.
MARK = b'"$bytes"'

_encode, _decode = binascii.b2a_base64, binascii.a2b_base64
_isinstance, _type, _len, _list, _dict = isinstance, type, len, list, dict
_BINARY = (bytes, bytearray, memoryview)
_SEQUENCES = (list, tuple, set, frozenset)
_PLAIN = frozenset({str, int, float, bool, type(None)})


class BytesCodecError(ValueError):
    """A tag holds something that is not base64."""


def tag_bytes(value: Any) -> Any:
    """``value`` with every bytes-like object replaced by its tag (models become dicts,
    tuples and sets lists); containers are copied, the value itself is left as it is."""
    holder = [value]
    stack: list[tuple[Any, Any]] = [(holder, 0)]
    while stack:
        parent, key = stack.pop()
        item = parent[key]
        if _type(item) in _PLAIN:
            continue
        if _isinstance(item, _BINARY):
            parent[key] = {TAG: _encode(bytes(item), newline=False).decode("ascii")}
            continue
        if _isinstance(item, BaseModel):
            item = item.model_dump()
        if _isinstance(item, dict):
            copy: Any = _dict(item.items())
        elif _isinstance(item, _SEQUENCES):
            copy = _list(item)
        else:
            parent[key] = item
            continue
        parent[key] = copy
        stack.extend((copy, k) for k in (copy if _type(copy) is dict else range(_len(copy))))
    return holder[0]


def tag_call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """A tool call's arguments with their bytes tagged; plain scalars (most calls) pass
    through without a walk."""
    plain = _PLAIN
    for item in args:
        if _type(item) not in plain:
            return tag_bytes(args), tag_bytes(kwargs)
    for item in kwargs.values():
        if _type(item) not in plain:
            return args, tag_bytes(kwargs)
    return args, kwargs


def untag_bytes(value: Any, *, strict: bool = True) -> Any:
    """Decoded JSON with every tag turned back into ``bytes`` (containers are copied).

    A tag whose text is not base64 raises ``BytesCodecError``, or with ``strict=False`` stays
    the dict it is."""
    holder = [value]
    stack: list[tuple[Any, Any]] = [(holder, 0)]
    while stack:
        parent, key = stack.pop()
        item = parent[key]
        kind = _type(item)
        if kind is dict:
            if _len(item) == 1 and _type(item.get(TAG)) is str:
                try:
                    parent[key] = _decode(item[TAG], strict_mode=True)
                    continue
                except (binascii.Error, ValueError):
                    if strict:
                        raise BytesCodecError("a bytes value is not valid base64") from None
            copy: Any = _dict(item)
        elif kind is list:
            copy = _list(item)
        else:
            continue
        parent[key] = copy
        stack.extend((copy, k) for k in (copy if kind is dict else range(_len(copy))))
    return holder[0]


def may_hold_tags(body: bytes) -> bool:
    return MARK in body

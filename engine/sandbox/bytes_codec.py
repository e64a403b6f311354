"""Bytes in tool arguments and results, carried exactly through JSON frames.

JSON has no bytes, and pydantic writes bytes as UTF-8 text, which fails for ``b"\\x00\\xff"``.
So wherever a tool's arguments or result may hold bytes, each ``bytes`` value travels as
``{"$bytes": "<base64>"}`` and is turned back into ``bytes`` on the other side, at any depth
and under any declared type (``Any`` too). A dict whose only key is ``"$bytes"`` with a string
value is therefore read as bytes: that key is reserved.

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
#: Deeper than the frames' JSON can nest: a walk that goes further is refused, not recursed.
MAX_DEPTH = 256

_encode, _decode = binascii.b2a_base64, binascii.a2b_base64
_isinstance, _type, _len = isinstance, type, len
_BINARY = (bytes, bytearray, memoryview)
_SEQUENCES = (list, tuple, set, frozenset)
_PLAIN = frozenset({str, int, float, bool, type(None)})


class BytesCodecError(ValueError):
    """A value nests too deeply, or a tag holds something that is not base64."""


def tag_bytes(value: Any, depth: int = 0) -> Any:
    """``value`` with every bytes-like object replaced by its tag (models become dicts)."""
    if _type(value) in _PLAIN:
        return value
    if depth > MAX_DEPTH:
        raise BytesCodecError(f"the value nests more than {MAX_DEPTH} levels deep")
    if _isinstance(value, _BINARY):
        return {TAG: _encode(bytes(value), newline=False).decode("ascii")}
    if _isinstance(value, BaseModel):
        value = value.model_dump()
    if _isinstance(value, dict):
        return {key: tag_bytes(item, depth + 1) for key, item in value.items()}
    if _isinstance(value, _SEQUENCES):
        return [tag_bytes(item, depth + 1) for item in value]
    return value


def untag_bytes(value: Any, depth: int = 0) -> Any:
    """Decoded JSON with every tag turned back into ``bytes``."""
    if depth > MAX_DEPTH:
        raise BytesCodecError(f"the value nests more than {MAX_DEPTH} levels deep")
    kind = _type(value)
    if kind is dict:
        if _len(value) == 1 and _type(value.get(TAG)) is str:
            try:
                return _decode(value[TAG], strict_mode=True)
            except (binascii.Error, ValueError):
                raise BytesCodecError("a bytes value is not valid base64") from None
        return {key: untag_bytes(item, depth + 1) for key, item in value.items()}
    if kind is list:
        return [untag_bytes(item, depth + 1) for item in value]
    return value


def may_hold_tags(body: bytes) -> bool:
    return MARK in body

"""The wire protocol between the trusted parent and a sandboxed session child.

Every message is a frame: a fixed 8-byte header (magic ``CX``, protocol version, message
kind, payload length as a big-endian u32) followed by the payload. The parent treats every
byte from a child as hostile: wrong magic, wrong version, unknown kinds, lengths over the
limit and truncated frames are ``ProtocolError``, never a crash.
"""

from __future__ import annotations

import os
import select
import struct
import time
from enum import IntEnum

MAGIC = b"CX"
VERSION = 1
HEADER = struct.Struct("!2sBBI")


class Kind(IntEnum):
    READY = 1  # child -> parent, once, after the restrictions are installed
    RUN = 2  # parent -> child: a snippet to execute
    TOOL_CALL = 3  # child -> parent: a tool call to broker
    TOOL_RESULT = 4  # parent -> child: the brokered result
    DONE = 5  # child -> parent: the snippet's outcome


#: Looked up without calling the enum class (the enum machinery is shared Python code).
_KINDS: dict[int, Kind] = {int(k): k for k in Kind}


class ToolStatus(IntEnum):
    """First byte of a TOOL_RESULT payload."""

    OK = 0
    TOOL_ERROR = 1  # the tool raised
    BAD_ARGUMENTS = 2  # the arguments did not validate against the signature
    LIMIT = 3  # too many calls or too large a payload: the snippet must stop
    DIVERGED = 4  # a replayed snippet asked for another call than the record has: stop


class ProtocolError(Exception):
    """A frame that breaks the protocol; the peer cannot be trusted any more."""


class PeerClosed(ProtocolError):
    """The other end closed the pipe (usually: the child died)."""


class Timeout(Exception):
    """No complete frame arrived before the deadline."""


# Captured when the module is imported, before any snippet runs: in a session child the loop
# that reads and writes frames must not look these up in modules a snippet may change.
_read, _write = os.read, os.write
_poll, _POLLIN, _POLLOUT = select.poll, select.POLLIN, select.POLLOUT


def wait_for(fd: int, writable: bool, timeout: float | None) -> bool:
    """Whether ``fd`` became readable (or writable) within ``timeout`` seconds (None: no
    limit). poll(), not select(): a process with thousands of sessions has descriptors
    above 1024, which select() cannot watch."""
    poller = _poll()
    poller.register(fd, _POLLOUT if writable else _POLLIN)
    return bool(poller.poll(None if timeout is None else max(0.0, timeout) * 1000))
_monotonic, _perf_counter = time.monotonic, time.perf_counter


def encode(kind: Kind, payload: bytes) -> bytes:
    return HEADER.pack(MAGIC, VERSION, kind, len(payload)) + payload


def write_frame(fd: int, kind: Kind, payload: bytes, deadline: float | None = None) -> None:
    """Write a whole frame. On a non-blocking descriptor, wait for room until ``deadline``
    (a peer that stops reading must not be able to block the writer forever)."""
    data = memoryview(encode(kind, payload))
    while data:
        try:
            written = _write(fd, data)
        except BlockingIOError:
            timeout = None if deadline is None else deadline - _monotonic()
            if timeout is not None and timeout <= 0:
                raise Timeout from None
            if not wait_for(fd, True, timeout):
                raise Timeout from None
            continue
        data = data[written:]


#: How long a reader polls before it sleeps. A tool call is a round trip between two
#: processes; waking a sleeping process costs ~50 us on a small VM, which would cap brokered
#: calls near 18,000/s. Polling briefly first keeps a busy exchange at a few microseconds and
#: costs at most this much CPU per idle wait. Measured on 2 cores with two CPU hogs running,
#: 200 us of polling still beat 50 us and no polling (~60 vs ~80 vs ~140 us per call), and
#: yielding while polling was worst (~250 us): the hogs took the whole slice.
SPIN_SECONDS = 0.0002


class FrameReader:
    """Reads frames from a descriptor, with a size limit and optional deadlines.

    The descriptor should be non-blocking (the owner sets that up: the sandboxed child cannot
    call fcntl any more) for the brief polling to work; a blocking one still works.
    """

    def __init__(self, fd: int, max_payload: int, spin: float = SPIN_SECONDS) -> None:
        self.fd = fd
        self.max_payload = max_payload
        self.max_spin = spin
        self._buffer = bytearray()
        self._misses = 0  # consecutive waits the polling did not shorten

    def _spin_budget(self) -> float:
        # When polling keeps missing (the peer is slow, or the CPUs are oversubscribed and
        # polling only steals time from the peer), stop polling; try again now and then.
        if self._misses >= 8 and self._misses % 64:
            return 0.0
        return self.max_spin

    def _fill(self, need: int, deadline: float | None) -> None:
        if len(self._buffer) >= need:
            return
        budget = self._spin_budget()
        spin_until = _perf_counter() + budget
        slept = False
        while len(self._buffer) < need:
            try:
                chunk = _read(self.fd, max(need - len(self._buffer), 4096))
            except BlockingIOError:
                if _perf_counter() < spin_until:
                    continue
                slept = True
                timeout = None if deadline is None else deadline - _monotonic()
                if timeout is not None and timeout <= 0:
                    raise Timeout from None
                if not wait_for(self.fd, False, timeout):
                    raise Timeout from None
                continue
            if not chunk:
                raise PeerClosed("the other end closed the pipe")
            self._buffer += chunk
        self._misses = self._misses + 1 if slept else 0

    def read(self, deadline: float | None = None) -> tuple[Kind, bytes]:
        """The next frame; ``deadline`` is a ``_monotonic()`` instant or None to block."""
        self._fill(HEADER.size, deadline)
        magic, version, kind, length = HEADER.unpack_from(self._buffer)
        if magic != MAGIC:
            raise ProtocolError(f"bad magic {bytes(magic)!r}")
        if version != VERSION:
            raise ProtocolError(f"protocol version {version}, expected {VERSION}")
        known = _KINDS.get(kind)
        if known is None:
            raise ProtocolError(f"unknown message kind {kind}")
        if length > self.max_payload:
            raise ProtocolError(f"frame of {length} bytes exceeds the limit of {self.max_payload}")
        self._fill(HEADER.size + length, deadline)
        payload = bytes(self._buffer[HEADER.size:HEADER.size + length])
        del self._buffer[:HEADER.size + length]
        return known, payload

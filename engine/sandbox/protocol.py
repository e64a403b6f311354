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
_monotonic, _perf_counter = time.monotonic, time.perf_counter
_pack, _unpack_from, _HEADER_SIZE = HEADER.pack, HEADER.unpack_from, HEADER.size


def wait_for(fd: int, writable: bool, timeout: float | None) -> bool:
    """Whether ``fd`` became readable (or writable) within ``timeout`` seconds (None: no
    limit). poll(), not select(): a process with thousands of sessions has descriptors
    above 1024, which select() cannot watch."""
    poller = _poll()
    poller.register(fd, _POLLOUT if writable else _POLLIN)
    return bool(poller.poll(None if timeout is None else max(0.0, timeout) * 1000))


def encode(kind: Kind, payload: bytes) -> bytes:
    return _pack(MAGIC, VERSION, kind, len(payload)) + payload


def write_frame(fd: int, kind: Kind, payload: bytes, deadline: float | None = None) -> None:
    """Write a whole frame. On a non-blocking descriptor, wait for room until ``deadline``
    (a peer that stops reading must not be able to block the writer forever)."""
    frame = _pack(MAGIC, VERSION, kind, len(payload)) + payload
    try:
        written = _write(fd, frame)
    except BlockingIOError:
        written = 0
    if written == len(frame):  # a tool call's frame fits in the pipe: one system call
        return
    data = memoryview(frame)[written:]
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


#: The most a reader polls before it sleeps. A tool call is a round trip between two
#: processes, and on a small VM waking a sleeping one is dear: the writer's system call takes
#: 15-50 us more (an interrupt to an idle virtual CPU), and the sleeper wakes later still.
#: Measured with 10,000 calls of a trivial tool on 2 cores, both sides sleeping cost more wall
#: time *and* more CPU per call than both polling (benchmarks/tool_calls.py). So a reader
#: polls as long as the peer's recent answers say it will answer soon, and sleeps when it
#: does not (a slow tool, a snippet computing between calls, CPUs taken by other work).
SPIN_SECONDS = 0.00005
#: Polling lasts this many times the peer's typical answer time (plus a little): long enough
#: for ordinary jitter, short enough that a miss wastes little.
_SPIN_FACTOR = 3
_SPIN_SLACK = 0.000002
#: After this many waits in a row that polling did not catch, a reader sleeps at once, and
#: polls (for the longest window) once in ``_PROBE_EVERY`` waits to notice a quick peer.
_MISSES_TO_SLEEP = 8
_PROBE_EVERY = 64
_READ_SIZE = 4096


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
        self._poller = _poll()  # registered once: a wait is then one system call
        self._poller.register(fd, _POLLIN)
        #: How long the peer typically takes to answer, from the waits polling caught (a
        #: wait that ended in a sleep also measured the wake-up); starts at the longest.
        self._typical = spin / _SPIN_FACTOR
        self._misses = 0  # consecutive waits that polling did not catch
        self._waits = 0

    def _spin_budget(self) -> float:
        if self._misses >= _MISSES_TO_SLEEP:
            self._waits += 1
            return self.max_spin if self._waits % _PROBE_EVERY == 0 else 0.0
        return min(self.max_spin, _SPIN_FACTOR * self._typical + _SPIN_SLACK)

    def _await(self, deadline: float | None, spin: float | None = None) -> None:
        """Return once the descriptor is readable; raise Timeout at ``deadline``. ``spin``:
        poll this long instead of the adaptive window, which then learns nothing."""
        poll = self._poller.poll
        started = _perf_counter()
        if poll(0):  # a frame already there is read, even past the deadline
            return
        budget = self._spin_budget() if spin is None else spin
        until = started + budget
        # poll(0), not read(): no exception per turn, and the pipe's lock stays free for the
        # writer.
        while _perf_counter() < until:
            if poll(0):
                if spin is None:
                    self._misses = 0
                    self._typical += (_perf_counter() - started - self._typical) / 8
                return
        if budget > 0.0 and spin is None:
            self._misses += 1
            self._typical += (budget - self._typical) / 8  # the peer may have slowed down
        while True:
            if deadline is None:
                if poll(None):
                    return
                continue
            timeout = deadline - _monotonic()
            if timeout <= 0:
                raise Timeout
            if poll(timeout * 1000):
                return

    def _receive(self, size: int, deadline: float | None, spin: float | None = None) -> bytes:
        while True:
            # Ask before reading: the frame usually is not there yet (the peer is still at
            # work), and an empty non-blocking read costs an exception on top of its call.
            self._await(deadline, spin)
            try:
                chunk = _read(self.fd, size)
            except BlockingIOError:
                continue
            if not chunk:
                raise PeerClosed("the other end closed the pipe")
            return chunk

    def _header(self, data: bytes | bytearray) -> tuple[Kind, int]:
        magic, version, kind, length = _unpack_from(data)
        if magic != MAGIC:
            raise ProtocolError(f"bad magic {bytes(magic)!r}")
        if version != VERSION:
            raise ProtocolError(f"protocol version {version}, expected {VERSION}")
        known = _KINDS.get(kind)
        if known is None:
            raise ProtocolError(f"unknown message kind {kind}")
        if length > self.max_payload:
            raise ProtocolError(f"frame of {length} bytes exceeds the limit of {self.max_payload}")
        return known, length

    def _fill(self, need: int, deadline: float | None) -> None:
        while len(self._buffer) < need:
            self._buffer += self._receive(max(need - len(self._buffer), _READ_SIZE), deadline)

    def read(self, deadline: float | None = None,
             spin: float | None = None) -> tuple[Kind, bytes]:
        """The next frame; ``deadline`` is a ``_monotonic()`` instant or None to block.
        ``spin``: how long to poll before sleeping, for a wait the caller knows better than
        the adaptive window (which learns from tool calls' round trips)."""
        if not self._buffer:
            # Usually one read brings exactly one whole frame: no buffering, one copy.
            chunk = self._receive(_READ_SIZE, deadline, spin)
            if len(chunk) >= _HEADER_SIZE:
                kind, length = self._header(chunk)
                if len(chunk) == _HEADER_SIZE + length:
                    return kind, chunk[_HEADER_SIZE:]
            self._buffer += chunk
        self._fill(_HEADER_SIZE, deadline)
        kind, length = self._header(self._buffer)
        self._fill(_HEADER_SIZE + length, deadline)
        payload = bytes(self._buffer[_HEADER_SIZE:_HEADER_SIZE + length])
        del self._buffer[:_HEADER_SIZE + length]
        return kind, payload

"""Where the type checker keeps its files: mypy's persisted state, and scratch space.

**The type cache.** A checker's first build analyses the tools' stubs, the policy's preloaded
modules and everything they import (typeshed's builtins, pydantic...): about a second, more
with pandas. The result is kept as mypy's fine-grained cache in a per-user directory, one
entry per set of inputs, and a later checker (a new ``codeact check``, a replaced check
worker) loads it in tens of milliseconds. An entry's key digests everything the build read
or was told: mypy's and Python's versions, mypy's options, the stubs, the preloaded modules
and, when there are some, the installed packages they come from (the site directories'
modification times: installing or removing anything changes them). A change of any of them
makes another entry.

Entries are written once and then only read. Building one takes the entry's lock
exclusively (other processes that need it wait, then load it); using one holds the lock
shared for as long as the checker lives, because mypy loads trees and dependencies from the
cache lazily, long after the start. Entries unused for a while, or beyond the newest few,
are removed when a new one is built, unless a checker holds them. Whatever goes wrong with
the cache (unwritable, corrupt, a lock not had in time) costs speed, never a check: the
checker then builds from nothing, as without a cache.

Where: ``$CODEACT_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/codeact``, else
``~/.cache/codeact``; the entries are under ``types/``. ``CODEACT_NO_CACHE=1`` turns the
cache off. Deleting the directory is always safe.

**Scratch space.** The files a checker rewrites at every check go to a tmpfs (``/dev/shm``)
where there is one: rewriting a file on ext4 just after writing it can wait milliseconds
for the previous write to reach the disk; on tmpfs it takes microseconds.

This module uses only the standard library: the engine's host process imports it too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

try:
    import fcntl
except ImportError:  # no flock (Windows): no cache, checks build from nothing
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

CACHE_DIR_VARIABLE = "CODEACT_CACHE_DIR"
NO_CACHE_VARIABLE = "CODEACT_NO_CACHE"
#: Bumped when what an entry holds, or how it is laid out, changes.
LAYOUT_VERSION = 1
#: Entries kept besides the one being built, the most recently used first...
KEEP_ENTRIES = 8
#: ...and none unused for longer than this.
KEEP_SECONDS = 14 * 24 * 3600
#: How long a checker waits for another process that builds the entry it needs (the build
#: takes about a second; with pandas, tens of seconds on a slow machine).
BUILD_WAIT_SECONDS = 60.0
#: How long to wait for the right to build an entry before looking again whether another
#: process has built it.
_BUILD_TURN_SECONDS = 0.2
#: A scratch directory needs little; a nearly full tmpfs is not worth the risk.
_SCRATCH_FREE_BYTES = 16 * 1024 * 1024
_MARKER = "complete.json"


def cache_root(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The cache directory to use, or None when the cache is turned off."""
    if environ.get(NO_CACHE_VARIABLE, "").strip() not in ("", "0"):
        return None
    chosen = environ.get(CACHE_DIR_VARIABLE, "").strip()
    if chosen:
        return Path(chosen).expanduser().absolute()
    base = environ.get("XDG_CACHE_HOME", "").strip()
    if base and os.path.isabs(base):  # the XDG spec: a relative value is to be ignored
        return Path(base) / "codeact"
    try:
        return Path.home() / ".cache" / "codeact"
    except (RuntimeError, KeyError):  # no home directory to be found
        return None


def worker_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """What a check worker (started with an empty environment) needs to find the cache this
    process would use."""
    root = cache_root(environ)
    if root is None:
        return {NO_CACHE_VARIABLE: "1"}
    return {CACHE_DIR_VARIABLE: str(root)}


def scratch_dir() -> str | None:
    """A directory for files rewritten at every check: a tmpfs when there is a usable one,
    else None (the default temporary directory). A temporary directory chosen in this
    process (``tempfile.tempdir`` set to other than the usual places) wins: a check worker
    chooses the directory its supervisor removes."""
    chosen = tempfile.tempdir  # also set, to the usual place, by the first gettempdir()
    usual = [os.environ.get(name) for name in ("TMPDIR", "TEMP", "TMP")]
    usual += ["/tmp", "/var/tmp", "/usr/tmp"]
    if chosen is not None and os.path.realpath(chosen) not in {
            os.path.realpath(place) for place in usual if place}:
        return None
    shm = "/dev/shm"
    try:
        stats = os.statvfs(shm)
    except OSError:
        return None
    if not os.access(shm, os.W_OK | os.X_OK) or stats.f_bavail * stats.f_frsize < \
            _SCRATCH_FREE_BYTES:
        return None
    return shm


def digest(parts: Mapping[str, object]) -> str:
    """A short key for ``parts`` (JSON-able values)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _lock(path: Path, exclusive: bool, deadline: float) -> int | None:
    """A descriptor holding an flock on ``path`` (created if missing), or None if it cannot
    be had by ``deadline`` (or at all: a read-only directory)."""
    assert fcntl is not None
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    while True:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            return None
        try:
            while True:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        os.close(fd)
                        return None
                    time.sleep(0.02)
            # A pruner may have removed the file between our open and our lock: a lock on
            # a removed file guards nothing, so start again with the file now at the path.
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                return fd
        except OSError:
            pass
        os.close(fd)


class CacheEntry:
    """One persisted build: ``src/`` holds the generated modules it was built from (at a
    fixed path, so that mypy finds its records fresh), ``mypy/`` mypy's cache."""

    def __init__(self, root: Path, parts: Mapping[str, object]) -> None:
        self.types = root / "types"
        self.key = digest({"layout": LAYOUT_VERSION, **parts})
        self.path = self.types / self.key
        self.src = self.path / "src"
        self.mypy = self.path / "mypy"
        self._manifest = {"layout": LAYOUT_VERSION, "key": self.key}
        self._lock_path = self.types / f"{self.key}.lock"
        self._fd: int | None = None

    def complete(self) -> bool:
        try:
            text = (self.path / _MARKER).read_text(encoding="utf-8")
            return bool(json.loads(text) == self._manifest)
        except (OSError, ValueError):
            return False

    def acquire(self, build: Callable[[CacheEntry], None],
                wait: float = BUILD_WAIT_SECONDS) -> bool:
        """Hold the entry for use, building it first if no process has. False if it cannot
        be used now (the caller then builds without the cache)."""
        if fcntl is None:
            return False
        deadline = time.monotonic() + wait
        with contextlib.suppress(OSError):  # a read-only cache may still hold the entry
            self.types.mkdir(parents=True, exist_ok=True)
        while True:
            fd = _lock(self._lock_path, exclusive=False, deadline=deadline)
            if fd is None:  # unlockable: usable only as a read-only copy nobody can change
                return self.complete() and not os.access(self.types, os.W_OK)
            if self.complete():
                self._hold(fd)
                return True
            os.close(fd)
            # Briefly: a process that built the entry while we looked holds it shared for as
            # long as it checks, so waiting for it alone would wait out the deadline (two
            # workers started together: the second one did not start within a minute).
            fd = _lock(self._lock_path, exclusive=True,
                       deadline=min(deadline, time.monotonic() + _BUILD_TURN_SECONDS))
            if fd is not None:
                break
            if time.monotonic() >= deadline:
                return False
        try:
            if not self.complete():
                shutil.rmtree(self.path, ignore_errors=True)  # what a killed builder left
                try:
                    build(self)
                    self._mark()
                except BaseException:
                    shutil.rmtree(self.path, ignore_errors=True)
                    raise
                self._prune()
            # Not atomic (the lock is let go, then taken shared), but only an unused entry
            # is ever removed, and this one was used a moment ago: it stays.
            fcntl.flock(fd, fcntl.LOCK_SH)
        except BaseException:
            os.close(fd)
            raise
        if not self.complete():
            os.close(fd)
            return False
        self._hold(fd)
        return True

    def _hold(self, fd: int) -> None:
        self.release()
        self._fd = fd
        with contextlib.suppress(OSError):  # recency, for pruning; a read-only cache has none
            os.utime(self.path / _MARKER)

    def _mark(self) -> None:
        marker = self.path / _MARKER
        temporary = self.path / f".{_MARKER}.{os.getpid()}"
        temporary.write_text(json.dumps(self._manifest), encoding="utf-8")
        os.replace(temporary, marker)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def discard(self) -> None:
        """Remove the entry (found unusable) so that the next checker builds it again,
        unless another checker is using it."""
        if fcntl is None:
            return
        self.release()
        _remove_unused(self.types, self.key)

    def _prune(self) -> None:
        """Remove entries not used for a long time, and all but the newest few."""
        now = time.time()
        found: list[tuple[float, str]] = []
        with contextlib.suppress(OSError):
            for item in os.scandir(self.types):
                name = item.name.removesuffix(".lock")
                if name == self.key or name.startswith("."):
                    continue
                try:
                    used = os.stat(Path(self.types, name, _MARKER)).st_mtime
                except OSError:
                    used = 0.0  # half-built, or only a lock file left
                found.append((used, name))
        found = sorted(set(found), reverse=True)
        for rank, (used, name) in enumerate(found):
            if rank >= KEEP_ENTRIES or now - used > KEEP_SECONDS:
                _remove_unused(self.types, name)

    def __del__(self) -> None:
        self.release()


def _remove_unused(types: Path, key: str) -> None:
    lock_path = types / f"{key}.lock"
    fd = _lock(lock_path, exclusive=True, deadline=0.0)
    if fd is None:
        return  # in use (or not ours to remove)
    try:
        shutil.rmtree(types / key, ignore_errors=True)
        with contextlib.suppress(OSError):
            lock_path.unlink()
    finally:
        os.close(fd)


__all__ = ["CACHE_DIR_VARIABLE", "NO_CACHE_VARIABLE", "CacheEntry", "cache_root",
           "scratch_dir", "worker_environment"]

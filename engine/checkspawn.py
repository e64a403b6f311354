"""Starting a check worker's process (``engine.checkworker``), and starting one early.

A worker's process imports the parser, the policy's rules and mypy (a few hundred
milliseconds) before it reads its spec. A one-shot command such as ``codeact check`` starts
it first thing (``prestart``), so that those imports overlap the command's own; the next
worker a pool (``engine.checkpool``) needs is then that one. This module imports only the
standard library (and the scratch-space rules), so that a command can do that before it
loads the rest of the engine.
"""

from __future__ import annotations

import atexit
import contextlib
import mmap
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO

from engine.typecheck.storage import scratch_dir, worker_environment

#: In the worker's directory: one byte, shared by both processes, that says which stage the
#: worker's current check is in (an index into ``STAGE_ORDER`` of engine.checkworker). The
#: supervisor reads it only when a check runs out of budget; a message per stage instead
#: woke the supervisor three times in every check.
STAGE_FILE = "stage"

# The worker imports what every check needs before it reads its spec, the type checker too
# unless told it will not be used: a prestarted worker does that while its spec is made.
_BOOTSTRAP = (
    "import sys; sys.path.insert(0, sys.argv[3]); import engine.checks\n"
    "if sys.argv[4] == 'types': import engine.typecheck.checker\n"
    "from engine.checkworker import main; main(int(sys.argv[1]), sys.argv[2])"
)


class WorkerProcess:
    """A check worker's process, from start to kill: it imports, then waits for its spec."""

    def __init__(self, types: bool = True) -> None:
        """``types``: whether it will type-check (then it imports mypy before its spec)."""
        # The worker's scratch files (the type checker's among them, rewritten at every
        # check) go in here, on a tmpfs where there is one; it is removed whatever becomes
        # of the worker.
        self.workdir = Path(tempfile.mkdtemp(prefix="codeact-check-", dir=scratch_dir()))
        stage_path = self.workdir / STAGE_FILE
        stage_path.write_bytes(b"\0")
        with open(stage_path, "r+b") as stage_file:
            self._stage = mmap.mmap(stage_file.fileno(), 1)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in kill()
        engine_root = str(Path(__file__).resolve().parent.parent)
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOTSTRAP, str(theirs.fileno()), str(self.workdir),
             engine_root, "types" if types else "-"],
            # Nothing of the host's environment but where the type cache is.
            pass_fds=[theirs.fileno()], env=worker_environment(), stdin=subprocess.PIPE,
            cwd=self.workdir,
            stdout=subprocess.DEVNULL, stderr=self.stderr, start_new_session=True,
        )
        theirs.close()
        self.connection = Connection(ours.detach())

    def start(self, spec_json: bytes) -> None:
        """Give the worker its spec: it warms its checker, then says it is ready."""
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # reported when no ready message comes
            self.process.stdin.write(spec_json)
            self.process.stdin.close()

    @property
    def stage(self) -> int:
        """Which stage the worker said its current check is in (see ``STAGE_FILE``)."""
        return self._stage[0]

    @stage.setter
    def stage(self, index: int) -> None:
        self._stage[0] = index

    def stderr_tail(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            self.stderr.seek(0)
            lines = self.stderr.read().decode("utf-8", "replace").strip().splitlines()
            return lines[-1] if lines else ""
        return ""

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        self.connection.close()
        self.stderr.close()
        self._stage.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


_PRESTARTED: list[WorkerProcess] = []
_PRESTARTED_LOCK = threading.Lock()
_AT_EXIT: list[bool] = []


def prestart(types: bool = True) -> None:
    """Start a check worker's process now, before the engine that will use it exists; the
    next worker any pool starts is this one. One no pool takes is killed at exit."""
    worker = WorkerProcess(types)
    with _PRESTARTED_LOCK:
        if not _AT_EXIT:
            atexit.register(cancel_prestarted)
            _AT_EXIT.append(True)
        _PRESTARTED.append(worker)


def take_prestarted() -> WorkerProcess | None:
    with _PRESTARTED_LOCK:
        return _PRESTARTED.pop() if _PRESTARTED else None


def cancel_prestarted() -> None:
    """Kill the prestarted worker processes no pool has taken."""
    while (worker := take_prestarted()) is not None:
        worker.kill()


__all__ = ["STAGE_FILE", "WorkerProcess", "cancel_prestarted", "prestart", "take_prestarted"]

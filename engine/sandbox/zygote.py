"""The zygote: a small, fresh, single-threaded process that forks session children quickly.

It is started by ``exec`` (never forked from the host), with an environment of its own (only
``THREAD_PINS``, nothing of the host's), and learns
what it needs from a ``SandboxSpec`` on its standard input: nothing the host process holds in
memory (API keys, clients, open files) is ever in a sandboxed process. It imports what snippets
may use, builds the seccomp filter once, then serves requests on a ``SOCK_SEQPACKET`` socket:

* ``spawn`` (with the child's two pipe ends attached as SCM_RIGHTS): fork a session child,
  reply with its pid and a pidfd, so that the parent can kill it without racing pid reuse;
* ``wait``: reply with a child's exit status once it has been reaped.

When the parent goes away the socket closes, and the zygote kills its children and exits.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import SandboxUnavailableError
from engine.sandbox.protocol import wait_for
from engine.sandbox.zygote_main import MESSAGE_BYTES

_BOOTSTRAP = (
    "import sys; sys.path.insert(0, sys.argv[2]); "
    "from engine.sandbox.zygote_main import main; main(int(sys.argv[1]))"
)


#: Numerical libraries size their thread pools from these when they load; a sandboxed child
#: may not start threads (a BLAS that tries waits forever on a thread that never ran), and a
#: session is one CPU's worth of work anyway.
THREAD_PINS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class UnimportableModuleError(SandboxUnavailableError):
    """The policy allows a module that cannot be imported here (not the sandbox's fault)."""

    def __init__(self, module: str, reason: str) -> None:
        super().__init__(f"the module {module!r} cannot be imported here ({reason})")
        self.module = module


@dataclass(frozen=True)
class Spawned:
    pid: int
    pidfd: int
    to_child: int
    from_child: int


class Zygote:
    """The parent's handle on a zygote process."""

    def __init__(self, spec_json: bytes, *, start_timeout: float = 60.0) -> None:
        self._lock = threading.Lock()
        self._start_timeout = start_timeout
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock = ours
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        engine_root = str(Path(__file__).resolve().parent.parent.parent)
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOTSTRAP, str(theirs.fileno()), engine_root],
            pass_fds=[theirs.fileno()], env=dict(THREAD_PINS), stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=self._stderr, start_new_session=True,
        )
        theirs.close()
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(spec_json)
            self._process.stdin.close()
        except BrokenPipeError:
            pass  # reported when the ready message does not come
        self._ready: dict[str, Any] | None = None
        self._spare_lock = threading.Lock()
        self._spare: Spawned | None = None
        self._refilling = False
        self._closed = False
        self._spawned = False  # a spare is made from the second spawn on

    @property
    def pid(self) -> int:
        return self._process.pid

    def _receive(self, timeout: float) -> tuple[dict[str, Any], list[int]]:
        if not wait_for(self._sock.fileno(), False, timeout):
            raise SandboxUnavailableError(f"the sandbox zygote did not answer within {timeout}s")
        message, fds, _, _ = socket.recv_fds(self._sock, MESSAGE_BYTES, 1)
        if not message:
            raise SandboxUnavailableError("the sandbox zygote exited: " + self._stderr_text())
        reply: dict[str, Any] = json.loads(message)
        return reply, fds

    def _stderr_text(self) -> str:
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace").strip()
        return text.splitlines()[-1] if text else "(no message)"

    def ready(self) -> dict[str, Any]:
        """Wait until the zygote has built the sandbox; raise if it could not."""
        with self._lock:
            if self._ready is None:
                reply, _ = self._receive(self._start_timeout)
                if not reply.get("ok"):
                    if isinstance(reply.get("module"), str):
                        raise UnimportableModuleError(reply["module"], str(reply.get("error")))
                    raise SandboxUnavailableError(reply.get("error", "the sandbox failed to start"))
                self._ready = reply
            return self._ready

    def spawn(self, timeout: float = 10.0) -> Spawned:
        """A new child, unseeded: its first RUN request carries the session's seed.

        It comes from a spare forked ahead of time when there is one (a fork and the
        child's start cost ~3 ms, off the caller's path that way); taking one starts the
        next in the background. The first spawn of a zygote makes no spare, so an engine
        that runs one session pays for no idle process.
        """
        with self._spare_lock:
            spare, self._spare = self._spare, None
            refill = self._spawned and not self._closed and not self._refilling
            self._refilling = self._refilling or refill
            self._spawned = True
        if refill:
            threading.Thread(target=self._refill, name="codeact-spare", daemon=True).start()
        if spare is not None:
            if not wait_for(spare.pidfd, False, 0):  # a pidfd is readable once it has exited
                return spare
            _close(spare)
        return self._fork(timeout)

    def _refill(self) -> None:
        try:
            made: Spawned | None = self._fork(10.0)
        except (OSError, SandboxUnavailableError):
            made = None  # the next spawn forks in the foreground, and reports what is wrong
        with self._spare_lock:
            self._refilling = False
            if made is not None and self._spare is None and not self._closed:
                self._spare, made = made, None
        if made is not None:
            _close(made)

    def _fork(self, timeout: float) -> Spawned:
        self.ready()
        request = json.dumps({"op": "spawn"})
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            with self._lock:
                socket.send_fds(self._sock, [request.encode()], [to_child_r, from_child_w])
                reply, fds = self._receive(timeout)
        except BaseException:
            for fd in (to_child_w, from_child_r):
                os.close(fd)
            raise
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        if "pid" not in reply or not fds:
            for fd in (to_child_w, from_child_r, *fds):
                os.close(fd)
            raise SandboxUnavailableError(reply.get("error", "the zygote could not fork"))
        return Spawned(reply["pid"], fds[0], to_child_w, from_child_r)

    def wait(self, pid: int, timeout: float = 10.0) -> dict[str, int]:
        """The exit status of a child: ``{"exit": code}`` or ``{"signal": number}``, and the
        CPU time it used in all (``"cpu_us"``)."""
        with self._lock:
            self._sock.send(json.dumps({"op": "wait", "pid": pid}).encode())
            reply, _ = self._receive(timeout)
        return {k: v for k, v in reply.items()
                if k in ("exit", "signal", "cpu_us") and isinstance(v, int)}

    def alive(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        with self._spare_lock:
            self._closed = True
            spare, self._spare = self._spare, None
        if spare is not None:
            _close(spare)
        try:
            self._sock.close()
        finally:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._stderr.close()


def _close(spawned: Spawned) -> None:
    """Let a child nobody will use go: it reads the end of its pipe and exits (the zygote
    reaps it)."""
    for fd in (spawned.to_child, spawned.from_child, spawned.pidfd):
        with contextlib.suppress(OSError):
            os.close(fd)

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

    def spawn(self, timeout: float = 10.0, *, seed: int | None = None) -> Spawned:
        """A new child; ``seed`` seeds its ``random`` module (else the OS does)."""
        self.ready()
        request = json.dumps({"op": "spawn", **({"seed": seed} if seed is not None else {})})
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
        try:
            self._sock.close()
        finally:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._stderr.close()

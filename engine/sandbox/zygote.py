"""The zygote: a small, fresh, single-threaded process that forks session children quickly.

It is started by ``exec`` (never forked from the host), with an empty environment, and learns
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
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from engine.errors import SandboxUnavailableError

_MESSAGE_BYTES = 65536
_BOOTSTRAP = (
    "import sys; sys.path.insert(0, sys.argv[2]); "
    "from engine.sandbox.zygote import main; main(int(sys.argv[1]))"
)


@dataclass(frozen=True)
class Spawned:
    pid: int
    pidfd: int
    to_child: int
    from_child: int


def describe_status(status: int) -> dict[str, int]:
    if os.WIFSIGNALED(status):
        return {"signal": os.WTERMSIG(status)}
    return {"exit": os.WEXITSTATUS(status)}


class Zygote:
    """The parent's handle on a zygote process."""

    def __init__(self, spec_json: bytes, *, start_timeout: float = 60.0) -> None:
        self._lock = threading.Lock()
        self._start_timeout = start_timeout
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock = ours
        self._stderr = tempfile.TemporaryFile()
        engine_root = str(Path(__file__).resolve().parent.parent.parent)
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOTSTRAP, str(theirs.fileno()), engine_root],
            pass_fds=[theirs.fileno()], env={}, stdin=subprocess.PIPE,
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
        ready, _, _ = select.select([self._sock], [], [], timeout)
        if not ready:
            raise SandboxUnavailableError(f"the sandbox zygote did not answer within {timeout}s")
        message, fds, _, _ = socket.recv_fds(self._sock, _MESSAGE_BYTES, 1)
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
                    raise SandboxUnavailableError(reply.get("error", "the sandbox failed to start"))
                self._ready = reply
            return self._ready

    def spawn(self, timeout: float = 10.0) -> Spawned:
        self.ready()
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            with self._lock:
                socket.send_fds(self._sock, [b'{"op": "spawn"}'], [to_child_r, from_child_w])
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
        """The exit status of a child: ``{"exit": code}`` or ``{"signal": number}``."""
        with self._lock:
            self._sock.send(json.dumps({"op": "wait", "pid": pid}).encode())
            reply, _ = self._receive(timeout)
        return {k: v for k, v in reply.items() if k in ("exit", "signal")}

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


# -- the zygote process itself -------------------------------------------------------------


def main(control_fd: int) -> NoReturn:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    sock = socket.socket(fileno=control_fd)
    try:
        from engine.sandbox.spec import SandboxSpec

        spec = SandboxSpec.model_validate_json(sys.stdin.buffer.read())
        state = _prepare(spec)
    except BaseException as exc:
        sock.send(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}).encode())
        os._exit(1)
    sock.send(json.dumps({"ok": True, "pid": os.getpid(), "seccomp": state[1] is not None}).encode())
    _serve(sock, state)


def _prepare(spec: Any) -> tuple[Any, Any, Any]:
    from engine.sandbox.child import Sandbox, prepare
    from engine.sandbox.limits import (
        CHILD_IN_FD,
        CHILD_OUT_FD,
        ResourcePlan,
        build_filter,
        unavailable_reason,
    )

    seccomp_filter = None
    if spec.seccomp:
        reason = unavailable_reason()
        if reason is not None:
            raise SandboxUnavailableError(reason)
        seccomp_filter = build_filter(spec.policy)
    executor = prepare(Sandbox(spec), CHILD_IN_FD, CHILD_OUT_FD)
    return executor, seccomp_filter, ResourcePlan.for_policy(spec.policy)


def _serve(sock: socket.socket, state: tuple[Any, Any, Any]) -> NoReturn:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: set[int] = set()
    statuses: dict[int, dict[str, int]] = {}
    waiting: set[int] = set()

    def reap() -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            children.discard(pid)
            statuses[pid] = describe_status(status)
            if pid in waiting:
                waiting.discard(pid)
                sock.send(json.dumps({"pid": pid, **statuses.pop(pid)}).encode())

    while True:
        try:
            readable, _, _ = select.select([sock, wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in readable:
            os.read(wake_r, 4096)
            reap()
        if sock not in readable:
            continue
        message, fds, _, _ = socket.recv_fds(sock, _MESSAGE_BYTES, 2)
        if not message:
            for pid in children:
                os.kill(pid, signal.SIGKILL)
            os._exit(0)
        request = json.loads(message)
        if request.get("op") == "spawn" and len(fds) == 2:
            pid = os.fork()
            if pid == 0:
                os.close(wake_r)
                os.close(wake_w)
                _child(state, sock, fds[0], fds[1])
            for fd in fds:
                os.close(fd)
            children.add(pid)
            pidfd = os.pidfd_open(pid)
            socket.send_fds(sock, [json.dumps({"pid": pid}).encode()], [pidfd])
            os.close(pidfd)
        elif request.get("op") == "wait":
            pid = int(request["pid"])
            reap()
            if pid in statuses:
                sock.send(json.dumps({"pid": pid, **statuses.pop(pid)}).encode())
            elif pid in children:
                waiting.add(pid)
            else:
                sock.send(json.dumps({"pid": pid, "error": "unknown child"}).encode())
        else:
            for fd in fds:
                os.close(fd)
            sock.send(json.dumps({"error": "bad request"}).encode())


def _child(state: tuple[Any, Any, Any], sock: socket.socket, in_fd: int, out_fd: int) -> NoReturn:
    import fcntl

    from engine.sandbox.child import serve
    from engine.sandbox.limits import CHILD_IN_FD, CHILD_OUT_FD, die_with_parent, lock_down

    executor, seccomp_filter, plan = state
    try:
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGCHLD, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        os.setsid()
        die_with_parent()
        sock.detach()
        high_in = fcntl.fcntl(in_fd, fcntl.F_DUPFD, 10)
        high_out = fcntl.fcntl(out_fd, fcntl.F_DUPFD, 10)
        os.dup2(high_in, CHILD_IN_FD)
        os.dup2(high_out, CHILD_OUT_FD)
        os.set_blocking(CHILD_IN_FD, False)
        os.closerange(0, CHILD_IN_FD)
        os.closerange(CHILD_OUT_FD + 1, os.sysconf("SC_OPEN_MAX"))
        os.environ.clear()
        plan.apply()
        lock_down(seccomp_filter)
        time.monotonic()  # warm the vDSO clock path before anything depends on it
        serve(executor)
    except BaseException:
        os._exit(71)

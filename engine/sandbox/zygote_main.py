"""The zygote process: a fresh interpreter that forks session children on request.

Started by ``engine.sandbox.zygote.Zygote`` (see there for the design). Its imports are kept
to what snippets and the sandbox need: every module imported here is in every child.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import sys
import time
from typing import Any, NoReturn

from engine.errors import SandboxUnavailableError

MESSAGE_BYTES = 65536
_KEPT_STATUSES = 4096


def describe_status(status: int) -> dict[str, int]:
    if os.WIFSIGNALED(status):
        return {"signal": os.WTERMSIG(status)}
    return {"exit": os.WEXITSTATUS(status)}


def main(control_fd: int) -> NoReturn:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    sock = socket.socket(fileno=control_fd)
    try:
        from engine.sandbox.spec import SandboxSpec

        spec = SandboxSpec.model_validate_json(sys.stdin.buffer.read())
        state = _prepare(spec)
    except BaseException as exc:
        failure = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        module = getattr(exc, "module", None)  # child.UnimportableModule: the policy's doing
        if isinstance(module, str):
            failure.update(module=module, error=str(getattr(exc, "reason", exc)))
        sock.send(json.dumps(failure).encode())
        os._exit(1)
    ready = {"ok": True, "pid": os.getpid(), "seccomp": state[1] is not None}
    sock.send(json.dumps(ready).encode())
    # Children start as copies of this process: keep the collector away from the objects
    # they share, or its first pass in each child copies every page it touches.
    gc.freeze()
    _serve(sock, state)


def _prepare(spec: Any) -> tuple[Any, Any, Any]:
    from engine.sandbox.child import ChildTemplate, prepare
    from engine.sandbox.limits import (
        CHILD_IN_FD,
        CHILD_OUT_FD,
        ResourcePlan,
        build_filter,
        shed_privileges,
        unavailable_reason,
    )

    seccomp_filter = None
    if spec.seccomp:
        reason = unavailable_reason()
        if reason is not None:
            raise SandboxUnavailableError(reason)
        seccomp_filter = build_filter(spec.policy)
    executor = prepare(ChildTemplate(spec), CHILD_IN_FD, CHILD_OUT_FD)
    shed_privileges()
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
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            children.discard(pid)
            # What it used in all, so that a killed snippet's CPU time can still be reported.
            statuses[pid] = {**describe_status(status),
                             "cpu_us": int((usage.ru_utime + usage.ru_stime) * 1_000_000)}
            while len(statuses) > _KEPT_STATUSES:  # statuses nobody asked for
                del statuses[next(iter(statuses))]
            if pid in waiting:
                waiting.discard(pid)
                sock.send(json.dumps({"pid": pid, **statuses.pop(pid)}).encode())

    while True:
        try:
            readable, _, _ = select.select([sock.fileno(), wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in readable:
            os.read(wake_r, 4096)
            reap()
        if sock.fileno() not in readable:
            continue
        message, fds, _, _ = socket.recv_fds(sock, MESSAGE_BYTES, 2)
        if not message:  # the parent is gone or done: leave nothing behind, not even zombies
            for pid in children:
                os.kill(pid, signal.SIGKILL)
            for pid in children:
                os.waitpid(pid, 0)
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


def _child(state: tuple[Any, Any, Any], sock: socket.socket, in_fd: int,
           out_fd: int) -> NoReturn:
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
        # numpy's global generator does not reseed at fork (random's does): without this
        # every session would draw the zygote's numbers. A session's own seed comes with its
        # first snippet (engine.sandbox.child), as this child may be a spare forked earlier.
        numpy_random = sys.modules.get("numpy.random")
        if numpy_random is not None:
            numpy_random.seed(int.from_bytes(os.urandom(4), "little"))
        plan.apply()
        lock_down(seccomp_filter)
        time.monotonic()  # warm the vDSO clock path before anything depends on it
        serve(executor)
    except BaseException:
        os._exit(71)

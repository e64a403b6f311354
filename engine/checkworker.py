"""A check worker: a process that runs the static stages for the engine, one snippet at a time.

Started by ``engine.checkpool`` with ``python -I`` (never forked from the host) and a
``CheckSpec`` on its standard input: it holds the policy, the tools' stubs and names, never
the tools' code. It warms its checker, says it is ready, then answers check requests on a
socket until the socket closes. Before each stage it reports which stage starts, so that the
supervisor can say where a snippet ran out of budget; it may be killed at any moment.
"""

from __future__ import annotations

import mmap
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from typing import NoReturn

from pydantic import BaseModel, ConfigDict

from engine.diagnostics import Stage
from engine.results import CheckReport
from engine.typecheck.context import Binding

#: First byte of a worker's message: a reply follows, or the worker gives up.
REPLY, FAILED = b"{", b"!"
#: The stages, by the index the worker writes to its stage byte (``checkspawn.STAGE_FILE``).
STAGE_ORDER = (Stage.PARSE, Stage.POLICY, Stage.TYPES)


class CheckRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    bindings: tuple[Binding, ...] = ()


class CheckReply(BaseModel):
    model_config = ConfigDict(frozen=True)

    report: CheckReport
    bindings: tuple[Binding, ...] = ()  # the report's own field is left out of dumps


def main(fd: int, workdir: str) -> NoReturn:
    from engine.checks import CheckSpec, StaticChecker
    from engine.typecheck.context import SessionContext

    _exit_with_parent(os.getppid(), workdir)
    tempfile.tempdir = workdir  # the supervisor removes it, whatever becomes of us
    connection = Connection(fd)
    try:
        spec = CheckSpec.model_validate_json(sys.stdin.buffer.read())
        checker = StaticChecker(spec)
        checker.warm()
        # What every check needs, warmed now: the screen and the type checker's first
        # update. LibCST and the full rules load at the first snippet the screen does not
        # clear (about 0.1 s, once), so a worker that meets none never pays for them.
        checker.check("x = 1")
        _limit_memory(spec.policy.limits.check_memory_mb)
    except BaseException as exc:
        connection.send_bytes(FAILED + f"{type(exc).__name__}: {exc}".encode())
        os._exit(1)
    connection.send_bytes(REPLY + b"}")

    from engine.checkspawn import STAGE_FILE

    with open(os.path.join(workdir, STAGE_FILE), "r+b") as stage_file:
        shared = mmap.mmap(stage_file.fileno(), 1)
    index = {stage: i for i, stage in enumerate(STAGE_ORDER)}

    def progress(stage: Stage) -> None:
        shared[0] = index[stage]

    while True:
        try:
            request = CheckRequest.model_validate_json(connection.recv_bytes())
        except (EOFError, OSError):
            _leave(workdir)  # the engine closed us
        try:
            report = checker.check(request.source, SessionContext(request.bindings), progress)
        except MemoryError:
            connection.send_bytes(FAILED + b"memory")
            os._exit(3)  # whatever mypy held is suspect now: let the pool replace us
        reply = CheckReply(report=report, bindings=report.bindings)
        connection.send_bytes(reply.model_dump_json().encode())


def _leave(workdir: str) -> NoReturn:
    shutil.rmtree(workdir, ignore_errors=True)
    os._exit(0)


def _exit_with_parent(parent: int, workdir: str) -> None:
    """Leave when the engine's process is gone, even in the middle of a long check.

    (PR_SET_PDEATHSIG would fire when the *thread* that started us ends, and the pool starts
    replacements from short-lived threads.)
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        _leave(workdir)

    threading.Thread(target=watch, name="codeact-parent-watch", daemon=True).start()


def _limit_memory(megabytes: int) -> None:
    """Bound what a check may add to the warm worker's address space (where /proc tells
    the current size; elsewhere the wall-clock budget alone bounds a check)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[0])
    except OSError:
        return
    limit = pages * os.sysconf("SC_PAGE_SIZE") + megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


__all__ = ["FAILED", "REPLY", "STAGE_ORDER", "CheckReply", "CheckRequest", "main"]

"""How many live sessions one engine process holds, and what each costs.

    python benchmarks/many_sessions.py --sessions 5000

Opens N sessions in one ``Engine``, each holding a name in its sandboxed child (a snippet
has run in it), then reads: the time to open them, the memory of the children (PSS from
/proc/PID/smaps_rollup: shared pages split between the processes that share them, so
the sum is what the sessions really cost), this process's RSS and descriptors. Then it runs
a snippet in the oldest, a middle and the newest session (they still hold their names) and
closes everything. Needs ``ulimit -n`` of three per session and some headroom.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table

from engine import Engine, ToolRegistry, tool


@tool
def double(x: int) -> int:
    """Twice x."""
    return 2 * x


def pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:  # gone meanwhile
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (the zygote, its session children, the check workers)."""
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            for kid in map(int, kids):
                found.append(kid)
                frontier.append(kid)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = args.sessions * 3 + 512  # three per session (measured), and headroom
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            sys.exit(f"RLIMIT_NOFILE hard limit {hard} is below {needed}: raise it")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))

    console = Console()
    engine = Engine(ToolRegistry([double]), "default", check_types=False)
    sessions = []
    base_children = 0
    try:
        engine.run("x = 1")  # the zygote and a check worker, before counting
        base_children = sum(pss_kib(p) for p in children(os.getpid()))
        started = time.perf_counter()
        for i in range(args.sessions):
            session = engine.session()
            sessions.append(session)
            if not session.run(f"mine = double({i})").ok:
                sys.exit(f"session {i} failed")
            if (i + 1) % 1000 == 0:
                console.print(f"{i + 1} sessions, {time.perf_counter() - started:.1f} s")
        opened = time.perf_counter() - started
        kids = children(os.getpid())
        pss = sum(pss_kib(p) for p in kids) - base_children
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        fds = len(os.listdir("/proc/self/fd"))
        checked = []
        for i in (0, args.sessions // 2, args.sessions - 1):
            result = sessions[i].run("final_answer(mine + double(1))")
            checked.append(result.ok and result.value == 2 * i + 2)
    finally:
        closing = time.perf_counter()
        for session in sessions:
            session.close()
        engine.close()
        closed = time.perf_counter() - closing

    table = Table(title=f"{args.sessions} live sessions in one engine")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("open + first snippet, per session", f"{opened / args.sessions * 1000:.1f} ms")
    table.add_row("sessions' children, PSS each", f"{pss / args.sessions / 1024:.2f} MiB")
    table.add_row("sessions' children, PSS total", f"{pss / 1024 / 1024:.2f} GiB")
    table.add_row("this process, max RSS", f"{rss / 1024:.0f} MiB")
    table.add_row("this process, descriptors", str(fds))
    table.add_row("oldest, middle, newest still answer", str(all(checked)))
    table.add_row("close all", f"{closed:.1f} s")
    console.print(table)


if __name__ == "__main__":
    main()

"""What one brokered tool call costs: wall time and CPU of both processes, quiet and under load.

    python benchmarks/tool_calls.py [--rounds 15] [--calls 10000] [--hogs 2]
                                    [--compare DIR] [--json out.json]

Each round runs one snippet of ``--calls`` calls of ``add(i, 1)`` in a warm session (static
checks off: the call is measured, not the checker). Rows, measured in alternation so that
background load hits them alike:

* pipe ping-pong floor: two Python processes bouncing a 16-byte message over two pipes, with
  the readers polling as the engine's readers may (poll) or sleeping at once (sleep). No
  engine code: the floor any brokered call stands on.
* engine: this tree's code. ``engine, no polling`` is the same code with both readers told
  never to poll (the parent's through the process object, the child's through the tool
  proxy's closure, which only a benchmark with the static checks off can reach).
* ``--compare DIR``: the engine of another checkout (``git worktree add /tmp/base HEAD``, or
  ``git archive HEAD | tar -x -C /tmp/base``), run with this script: before and after in
  the same run.

Columns: calls/s and microseconds per call of the snippet's execution (the parent's view from
RUN to DONE); CPU per call of the parent (this process: brokering, and building the result's
10,000 tool-call records) and of the child (``/proc/<pid>/schedstat``); and CPU/wall, both
over the whole ``session.run()``. Polling trades CPU for wall time: two processes that both
poll while the other works use twice the CPU of one that works; two that sleep pay a wake-up
per message. The second table runs the same rows with ``--hogs`` busy loops
(``python3 -c "while True: pass"``) competing for the CPUs.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

SNIPPET = "n = 0\nfor i in range({calls}):\n    n += add(i, 1)\n"
#: Reaches the child's reader from a snippet (static checks off): the proxy's closure holds
#: the channel. Only this benchmark does this, to compare polling settings in one tree.
SET_CHILD_SPIN = """\
channel = [c.cell_contents for c in add.__closure__
           if c.cell_contents.__class__.__name__ == "ToolChannel"][0]
channel.reader.max_spin = {spin!r}
"""
FLOOR_MESSAGE = b"x" * 16


def _schedstat_seconds(pid: int) -> float:
    """CPU time of a process, to the nanosecond (``/proc/<pid>/stat`` counts 10 ms ticks)."""
    try:
        with open(f"/proc/{pid}/schedstat") as stat:
            return int(stat.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- workers: one per row, each in its own process, driven one round at a time ----------


class _EngineRow:
    def __init__(self, tree: Path, spin: tuple[float, float] | None, calls: int) -> None:
        sys.path.insert(0, str(tree))
        from benchmarks import bench_tools
        from engine import Engine, ToolRegistry

        registry = ToolRegistry(bench_tools.TOOLS)
        self.engine = Engine(registry, "default", check_policy=False, check_types=False)
        self.session = self.engine.session()
        self.source = SNIPPET.format(calls=calls)
        self.calls = calls
        assert self.session.run("n = 0").ok  # starts the session's process
        if spin is not None:
            result = self.session.run(SET_CHILD_SPIN.format(spin=spin[1]))
            assert result.ok, result.diagnostics
            process = self.session._process._process  # type: ignore[union-attr]
            process._reader.max_spin = spin[0]
        for _ in range(2):  # warm: the first snippets fault in the child's pages
            self.round()

    def round(self) -> dict[str, float]:
        pid = self.session.pid
        assert pid is not None
        child = _schedstat_seconds(pid)
        parent = time.process_time()
        started = time.perf_counter()
        result = self.session.run(self.source)
        wall = time.perf_counter() - started
        parent = time.process_time() - parent
        assert result.ok and result.usage is not None, result.diagnostics
        child = _schedstat_seconds(pid) - child
        return {"exec_s": result.usage.wall_ms / 1000, "wall_s": wall, "parent_s": parent,
                "child_s": child}


def _floor_wait(fd: int, poller: Any, spin: float) -> bytes:
    until = time.perf_counter() + spin
    while True:
        try:
            return os.read(fd, 64)
        except BlockingIOError:
            while not poller.poll(0) and time.perf_counter() < until:
                pass
            if time.perf_counter() >= until:
                poller.poll(None)


class _FloorRow:
    """Two processes, two pipes, nothing else: what a round trip costs in Python."""

    def __init__(self, spin: float, calls: int) -> None:
        self.calls = calls
        self.spin = spin
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()
        os.set_blocking(to_r, False)
        os.set_blocking(self.from_r, False)
        self.pid = os.fork()
        if self.pid == 0:
            os.close(self.to_w)  # else the pipe never reads as closed when the worker exits
            os.close(self.from_r)
            poller = select.poll()
            poller.register(to_r, select.POLLIN)
            while True:
                message = _floor_wait(to_r, poller, spin)
                if not message:
                    os._exit(0)
                os.write(from_w, message)
        os.close(to_r)
        os.close(from_w)
        self.poller = select.poll()
        self.poller.register(self.from_r, select.POLLIN)
        self.round()

    def round(self) -> dict[str, float]:
        child = _schedstat_seconds(self.pid)
        parent = time.process_time()
        started = time.perf_counter()
        for _ in range(self.calls):
            os.write(self.to_w, FLOOR_MESSAGE)
            _floor_wait(self.from_r, self.poller, self.spin)
        wall = time.perf_counter() - started
        return {"exec_s": wall, "wall_s": wall, "parent_s": time.process_time() - parent,
                "child_s": _schedstat_seconds(self.pid) - child}


def _worker(kind: str, tree: Path, spin: str, calls: int) -> None:
    """``spin``: the longest polling of the parent's and the child's readers, seconds, as
    ``parent/child``; ``-`` leaves the engine's own."""
    polls = None if spin == "-" else tuple(float(s) for s in spin.split("/"))
    if kind == "floor":
        row: _FloorRow | _EngineRow = _FloorRow(polls[0] if polls else 0.0, calls)
    else:
        row = _EngineRow(tree, (polls[0], polls[-1]) if polls else None, calls)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "round":
            break
        print(json.dumps(row.round()), flush=True)


# --- the driver --------------------------------------------------------------------------


class _Row:
    """A worker process measuring one row; started one after another, so that their warm-up
    snippets do not compete."""

    def __init__(self, label: str, args: list[str]) -> None:
        self.label = label
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", *args], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.samples: list[dict[str, float]] = []
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            self.process.kill()
            raise RuntimeError(f"{label}: the worker did not start ({line!r})")

    def round(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("round\n")
        self.process.stdin.flush()
        self.samples.append(json.loads(self.process.stdout.readline()))

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


def _rows(args: argparse.Namespace) -> list[_Row]:
    here = str(ROOT)
    specs = [
        ("pipe ping-pong floor, poll 50 us", ["floor", here, "0.00005"]),
        ("pipe ping-pong floor, sleep", ["floor", here, "0"]),
        ("engine", ["engine", here, "-"]),
        ("engine, no polling", ["engine", here, "0/0"]),
    ]
    if args.compare is not None:
        specs.append((f"engine of {args.compare}", ["engine", str(args.compare), "-"]))
    rows: list[_Row] = []
    try:
        for label, worker in specs:
            rows.append(_Row(label, worker))
    except BaseException:
        for row in rows:
            row.process.kill()
        raise
    return rows


def _idle_fraction(seconds: float = 0.5) -> float:
    def snapshot() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        return sum(values), values[3] + values[4]

    total, idle = snapshot()
    time.sleep(seconds)
    total2, idle2 = snapshot()
    return (idle2 - idle) / max(1, total2 - total)


def _summary(row: _Row, calls: int) -> dict[str, float]:
    def median(key: str) -> float:
        return statistics.median(s[key] for s in row.samples)

    per_call = {key: median(key) / calls * 1e6 for key in ("exec_s", "wall_s")}
    cpu = [(s["parent_s"] + s["child_s"]) / s["wall_s"] for s in row.samples]
    return {
        "calls_per_s": calls / median("exec_s"),
        "us_per_call": per_call["exec_s"],
        "run_us_per_call": per_call["wall_s"],
        "parent_cpu_us": median("parent_s") / calls * 1e6,
        "child_cpu_us": median("child_s") / calls * 1e6,
        "cpu_over_wall": statistics.median(cpu),
    }


def _wait_idle(limit: float) -> float:
    """Wait up to ``limit`` seconds for CPUs at least 90% idle; how idle they were."""
    until = time.monotonic() + limit
    idle = _idle_fraction(0.3)
    while idle < 0.9 and time.monotonic() < until:
        idle = _idle_fraction(0.3)
    return idle


def _measure(args: argparse.Namespace, title: str, hogs: int) -> dict[str, dict[str, float]]:
    from rich.console import Console
    from rich.table import Table

    rows = _rows(args)
    idle: list[float] = []
    try:
        for _ in range(args.rounds):
            if not hogs:
                idle.append(_wait_idle(args.wait_idle))
            for row in rows:
                row.round()
    finally:
        for row in rows:
            row.close()
    results = {row.label: _summary(row, args.calls) for row in rows}
    baseline = results.get(f"engine of {args.compare}") if args.compare else None
    table = Table(title=f"{title}: {args.calls:,} calls of add(i, 1) per snippet, median of "
                        f"{args.rounds} rounds")
    for column in ("row", "calls/s", "µs/call", "vs compared", "run() µs/call",
                   "parent CPU µs", "child CPU µs", "CPU µs vs compared", "CPU/wall"):
        table.add_column(column, justify="left" if column == "row" else "right")
    for label, r in results.items():
        versus = cpu_versus = ""
        cpu = r["parent_cpu_us"] + r["child_cpu_us"]
        if baseline is not None and label.startswith("engine"):
            versus = f"{r['us_per_call'] / baseline['us_per_call']:.2f}x"
            cpu_versus = f"{cpu / (baseline['parent_cpu_us'] + baseline['child_cpu_us']):.2f}x"
        table.add_row(label, f"{r['calls_per_s']:,.0f}", f"{r['us_per_call']:.1f}", versus,
                      f"{r['run_us_per_call']:.1f}", f"{r['parent_cpu_us']:.1f}",
                      f"{r['child_cpu_us']:.1f}", cpu_versus, f"{r['cpu_over_wall']:.2f}")
    console = Console(width=max(Console().width, 150))
    console.print(table)
    if idle:
        quiet = sum(i >= 0.9 for i in idle)
        console.print(f"{quiet} of {len(idle)} rounds started with the CPUs at least 90% idle "
                      f"(median {statistics.median(idle):.0%}); other work on the machine makes "
                      "the figures noisy, the comparison within a round less so.")
    return results


def _start_hogs(count: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen(["python3", "-c", "while True: pass"]) for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--hogs", type=int, default=2, help="busy loops in the second table "
                        "(0: no second table)")
    parser.add_argument("--compare", type=Path, help="another checkout's engine to measure "
                        "in the same run")
    parser.add_argument("--wait-idle", type=float, default=30.0, metavar="SECONDS",
                        help="before each quiet round, wait up to this long for idle CPUs")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "TREE", "SPIN"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, tree, spin = args.worker
        _worker(kind, Path(tree), spin, args.calls)
        return
    if args.compare is not None:
        args.compare = args.compare.resolve()
    figures = {"quiet": _measure(args, "quiet", 0)}
    if args.hogs:
        hogs = _start_hogs(args.hogs)
        try:
            figures["hogs"] = _measure(args, f"{args.hogs} CPU hogs", args.hogs)
        finally:
            for hog in hogs:
                hog.send_signal(signal.SIGKILL)
                hog.wait()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

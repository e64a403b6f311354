"""Checks per second from several threads sharing one engine, and what a costly snippet costs
the others.

    python benchmarks/check_throughput.py [--seconds 5] [--threads 1 2 4]

Every thread checks the 10-line seed snippet (varied so nothing is cached) for ``--seconds``;
the table gives snippets per second for each thread count, and the ratio to one thread. With
``--costly`` one more thread keeps sending a snippet that mypy needs minutes for, and the
table shows the others' p50/p95 latency beside it. Wall-clock figures on this machine: compare
them within one run only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.check_latency import SNIPPET, percentile  # noqa: E402
from engine import Engine, load_tools  # noqa: E402

COSTLY = ("x = list(map(lambda a: list(map(lambda b: list(map(lambda c: list(map(lambda d: "
          "list(map(lambda e: e, d)), c)), b)), a)), [[[[[1]]]]]))")


def run(engine: Engine, threads: int, seconds: float, costly: bool) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def honest(index: int) -> None:
        i = 0
        while time.monotonic() < stop:
            i += 1
            source = SNIPPET.replace("math.sqrt(len(users))",
                                     f"math.sqrt(len(users) + {index * 100_000 + i})")
            started = time.perf_counter()
            report = engine.check(source)
            elapsed = (time.perf_counter() - started) * 1000
            assert report.ok, report.diagnostics
            with lock:
                latencies.append(elapsed)

    def hostile() -> None:
        while time.monotonic() < stop:
            engine.check(COSTLY)

    workers = [threading.Thread(target=honest, args=(n,)) for n in range(threads)]
    if costly:
        workers.append(threading.Thread(target=hostile))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(latencies) / seconds, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--costly", action="store_true",
                        help="add one thread that sends a costly snippet again and again")
    args = parser.parse_args()
    registry = load_tools("examples.toolsets.users")
    workers = max(args.threads) + (1 if args.costly else 0)
    table = Table(title=f"checks per second, {args.seconds:g} s per row")
    for column in ("threads", "costly beside", "snippets/s", "x one thread", "p50 ms", "p95 ms"):
        table.add_column(column, justify="right")
    engine = Engine(registry, "default", check_workers=workers)
    engine.warm_up(all_workers=True)
    for _ in range(10):
        engine.check(SNIPPET)
    base = None
    for threads in args.threads:
        for costly in ([False, True] if args.costly else [False]):
            rate, latencies = run(engine, threads, args.seconds, costly)
            base = base or rate
            table.add_row(str(threads), "yes" if costly else "no", f"{rate:.1f}",
                          f"{rate / base:.2f}", f"{statistics.median(latencies):.1f}",
                          f"{percentile(latencies, 0.95):.1f}")
    engine.close()
    Console().print(table)


if __name__ == "__main__":
    main()

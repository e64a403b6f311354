"""Snippets per second on every core: one in-process Engine against an EnginePool of 1, 2, 4
workers, with 1 to 64 sessions at once.

    python benchmarks/scaling.py [--kind check|tools|host] [--jobs 200] [--workers 1 2 4]
                                 [--sessions 1 4 16 64] [--ray]

Each job is one session running one snippet. ``check`` (the default): a 10-line snippet that
is checked (parse, policy, mypy) and run with three small tool calls, the work an evaluation
or RL loop sends; the checks run in check worker processes. ``tools``: a short snippet whose
tool returns 10,000 users, so the work is in the tool and its validation and serialisation,
which run in the process that owns the session. ``host``: a tool that computes for ~50 ms
in pure Python (``benchmarks/scaling_tools.py``), the work one process's GIL serialises.
Snippets are varied so that nothing is cached. The baseline is a single ``Engine`` used from
as many threads as there are sessions, measured in the same run; ratios are against it and
against one worker. Wall-clock figures: compare them within one run only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.check_latency import percentile  # noqa: E402
from engine import Engine, EnginePool, RunResult, load_tools  # noqa: E402

TOOLS = "examples.toolsets.users"
JOB = """\
import math
ids = [{a}, {b}, {c}]
found = [get_user(i) for i in ids]
names: dict[int, str] = {{}}
for user in found:
    if user is not None and user.active:
        names[user.id] = user.name.upper()
countries = sorted({{u.address.country for u in found if u is not None}})
score = math.sqrt(sum(names)) + len(countries)
final_answer({{"names": names, "countries": countries, "score": round(score, {d})}})
"""


TOOL_JOB = "users = get_all_users()\nfinal_answer(sum(1 for u in users if u.active) + {i} * 0)"
HOST_JOB = "final_answer(crunch({i}))"
KIND = "check"


def job(index: int) -> str:
    if KIND == "host":
        return HOST_JOB.format(i=index)
    if KIND == "tools":
        return TOOL_JOB.format(i=index)
    return JOB.format(a=index % 9000 + 1, b=index % 7000 + 2, c=index % 5000 + 3, d=index % 5)


def measure(run_one: Callable[[str], RunResult], jobs: int,
            sessions: int) -> tuple[float, list[float]]:
    """Snippets per second and per-job latencies (ms) with ``sessions`` jobs at once."""
    latencies: list[float] = []
    failures = 0

    def one(index: int) -> None:
        nonlocal failures
        started = time.perf_counter()
        result = run_one(job(index))
        latencies.append((time.perf_counter() - started) * 1000)
        if not result.ok:
            failures += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(sessions) as executor:
        list(executor.map(one, range(jobs)))
    wall = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{failures} of {jobs} jobs failed: the measurement is not valid")
    return jobs / wall, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=["check", "tools", "host"], default="check")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--ray", action="store_true",
                        help="Also the same pools as Ray actors on a local Ray instance.")
    args = parser.parse_args()
    global KIND, TOOLS  # noqa: PLW0603 - read by job() in every thread
    KIND = args.kind
    if KIND == "host":
        TOOLS = "benchmarks.scaling_tools"
    console = Console()
    table = Table(title=f"{args.jobs} {KIND}-bound jobs (one session and snippet each)")
    for column in ("engine", "sessions at once", "snippets/s", "p50 ms", "p95 ms",
                   "vs one Engine", "vs 1 worker"):
        table.add_column(column, justify="right")

    baseline: dict[int, float] = {}
    engine = Engine(load_tools(TOOLS), "default")
    engine.warm_up(all_workers=True)
    try:
        run_one = engine.run
        run_one(job(0))
        for sessions in args.sessions:
            rate, latencies = measure(run_one, args.jobs, sessions)
            baseline[sessions] = rate
            table.add_row("Engine (threads)", str(sessions), f"{rate:.1f}",
                          f"{statistics.median(latencies):.0f}",
                          f"{percentile(latencies, 0.95):.0f}", "1.00x", "")
    finally:
        engine.close()

    one_worker: dict[int, float] = {}
    for workers in args.workers:
        with EnginePool(TOOLS, "default", workers=workers) as pool:
            for _ in range(2 * workers):
                pool.run(job(0))  # every worker warm
            for sessions in args.sessions:
                rate, latencies = measure(pool.run, args.jobs, sessions)
                if workers == 1:
                    one_worker[sessions] = rate
                versus = (f"{rate / one_worker[sessions]:.2f}x" if sessions in one_worker
                          else "")
                table.add_row(f"EnginePool({workers})", str(sessions), f"{rate:.1f}",
                              f"{statistics.median(latencies):.0f}",
                              f"{percentile(latencies, 0.95):.0f}",
                              f"{rate / baseline[sessions]:.2f}x", versus)
    if args.ray:
        import ray

        from engine.distributed import RayPool

        ray.init(include_dashboard=False, log_to_driver=False)
        try:
            for workers in args.workers:
                with RayPool(TOOLS, "default", workers=workers) as actors:
                    for _ in range(2 * workers):
                        actors.run(job(0))
                    for sessions in args.sessions:
                        rate, latencies = measure(actors.run, args.jobs, sessions)
                        versus = (f"{rate / one_worker[sessions]:.2f}x"
                                  if sessions in one_worker else "")
                        table.add_row(f"RayPool({workers})", str(sessions), f"{rate:.1f}",
                                      f"{statistics.median(latencies):.0f}",
                                      f"{percentile(latencies, 0.95):.0f}",
                                      f"{rate / baseline[sessions]:.2f}x", versus)
        finally:
            ray.shutdown()
    console.print(table)
    console.print(f"cores available: {len(__import__('os').sched_getaffinity(0))}")


if __name__ == "__main__":
    main()

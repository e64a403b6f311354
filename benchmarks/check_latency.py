"""Latency of the static stages: parse, policy, types, and the whole check, cold and warm.

    python benchmarks/check_latency.py [--runs 200] [--json out.json]

"Cold" is the first check of a new engine whose check worker must start (import, then mypy
loads its state from the type cache, which the first cold run fills: see check_cold.py for a
start without it); "warm" is every later check of the same engine. Checks run in check
workers: a warm check's total includes the round trip to the worker, the stages' own figures
do not. The snippet is the seed's 10-line task over the users toolset.
Figures are wall-clock milliseconds on this machine; compare them within one run only. The
last rows are CPU per warm check: of the check worker (every thread, from the kernel's
schedstat) and of this process (sending, waiting, reading the report), over all warm runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import Engine, Stage, load_tools  # noqa: E402
from engine.checkpool import close_unused_pools  # noqa: E402

SNIPPET = """\
import math
users = get_all_users()
inactive = [u for u in users if not u.active]
by_country: dict[str, int] = {}
for u in inactive:
    by_country[u.address.country] = by_country.get(u.address.country, 0) + 1
    deactivate(u.id)
top = max(by_country, key=lambda c: by_country[c])
print(len(inactive), top, math.sqrt(len(users)))
final_answer({"deactivated": len(inactive), "top_country": top})
"""

STAGES = (Stage.PARSE, Stage.POLICY, Stage.TYPES)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cpu_ns(pid: int) -> int:
    """CPU time a process has used, all its threads, in nanoseconds."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
            total += int(stat.read().split()[0])
    return total


def measure(runs: int) -> dict[str, dict[str, float]]:
    registry = load_tools("examples.toolsets.users")
    results: dict[str, dict[str, float]] = {}

    cold_samples: dict[str, list[float]] = {s.value: [] for s in STAGES} | {"total": []}
    for _ in range(3):  # a new engine each time: mypy starts from nothing
        engine = Engine(registry, "default")
        started = time.perf_counter()
        report = engine.check(SNIPPET)
        cold_samples["total"].append((time.perf_counter() - started) * 1000)
        assert report.ok, report.diagnostics
        for stage in STAGES:
            found = report.stage(stage)
            cold_samples[stage.value].append(found.duration_ms if found else 0.0)
        engine.close()
        close_unused_pools()  # the next engine must start its own worker
    for name, values in cold_samples.items():
        results[f"cold {name}"] = {"p50": statistics.median(values),
                                   "p95": percentile(values, 0.95), "n": len(values)}

    engine = Engine(registry, "default")
    engine.warm_up()
    for _ in range(20):
        engine.check(SNIPPET)
    warm: dict[str, list[float]] = {s.value: [] for s in STAGES} | {"total": []}
    workers = [w.process.pid for w in engine._checks()._idle]
    assert len(workers) == 1, workers  # one worker did every warm check
    worker_before, parent_before = cpu_ns(workers[0]), time.process_time_ns()
    for i in range(runs):
        # Vary the text so that nothing is served from a cache of identical input.
        source = SNIPPET.replace("math.sqrt(len(users))", f"math.sqrt(len(users) + {i})")
        started = time.perf_counter()
        report = engine.check(source)
        warm["total"].append((time.perf_counter() - started) * 1000)
        for stage in STAGES:
            found = report.stage(stage)
            warm[stage.value].append(found.duration_ms if found else 0.0)
    worker_cpu = (cpu_ns(workers[0]) - worker_before) / runs / 1e6
    parent_cpu = (time.process_time_ns() - parent_before) / runs / 1e6
    engine.close()
    for name, values in warm.items():
        results[f"warm {name}"] = {"p50": statistics.median(values),
                                   "p95": percentile(values, 0.95), "n": len(values)}
    # Means, not percentiles: the kernel counts CPU per process, not per check.
    results["warm CPU per check, worker (mean)"] = {"p50": worker_cpu, "p95": worker_cpu,
                                                    "n": runs}
    results["warm CPU per check, engine process (mean)"] = {"p50": parent_cpu,
                                                            "p95": parent_cpu, "n": runs}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    results = measure(args.runs)
    table = Table(title=f"check latency, 10-line snippet (ms; warm n={args.runs})")
    table.add_column("measure")
    table.add_column("p50", justify="right")
    table.add_column("p95", justify="right")
    table.add_column("n", justify="right")
    for name, row in results.items():
        table.add_row(name, f"{row['p50']:.2f}", f"{row['p95']:.2f}", str(int(row["n"])))
    Console().print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

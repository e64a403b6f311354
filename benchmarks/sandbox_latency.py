"""Latency of the sandbox, in one run, against a fresh `python -c` per snippet.

    python benchmarks/sandbox_latency.py [--runs 100] [--json out.json]

Rows:
* spawn: zygote fork + rlimits + seccomp filter, until the child reports ready;
* spawn + 1 tool call: a new session process, then a snippet making one brokered call;
* 1 tool call (warm session): the same snippet in a session that already has a process;
* 10,000 tool calls: one snippet, with calls per second;
* full pipeline (warm): parse + policy + types + run of a 10-line snippet with 21 tool calls;
* seed task: all 10,000 users fetched, every inactive one deactivated (~3,000 calls);
* restore after a kill: the failing snippet's cost beyond its timeout, when the session's 10
  earlier snippets are replayed into a new process;
* python -c (fresh process): the 10-line snippet with the tools imported in-process, the
  floor of process isolation without any checking. The ratio to the full pipeline is the
  headline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import Engine, load_tools  # noqa: E402
from engine.sandbox.broker import SandboxProcess, ToolBroker  # noqa: E402
from examples.toolsets import users  # noqa: E402

PIPELINE = """\
import math
ids = list(range(1, 21))
found = [get_user(i) for i in ids]
by_country: dict[str, int] = {}
for u in found:
    if u is not None and not u.active:
        by_country[u.address.country] = by_country.get(u.address.country, 0) + 1
        deactivate(u.id)
print(sum(by_country.values()), math.sqrt(len(ids)))
final_answer(by_country)
"""

SEED = """\
users = get_all_users()
inactive = [u for u in users if not u.active]
for u in inactive:
    deactivate(u.id)
final_answer(len(inactive))
"""

ONE_CALL = "print(get_user(1) is not None)"
MANY_CALLS = "n = 0\nfor i in range(1, 10001):\n    if get_user(i) is not None:\n        n += 1\n"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def sample(fn: Callable[[], object], runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    runs = args.runs
    registry = load_tools("examples.toolsets.users")
    rows: dict[str, list[float]] = {}
    extra: dict[str, str] = {}

    bare = Engine(registry, "default", check_policy=False, check_types=False)
    zygote = bare._zygote()
    limits = bare.policy.limits

    spawned: list[SandboxProcess] = []

    def spawn() -> None:
        spawned.append(SandboxProcess(zygote, limits))

    def spawn_and_call() -> None:
        process = SandboxProcess(zygote, limits)
        outcome = process.execute(ONE_CALL, ToolBroker(registry, limits), 1).outcome
        assert outcome is not None and outcome.ok, outcome
        spawned.append(process)

    def reap() -> None:  # outside the timings: teardown is not on a snippet's path
        while spawned:
            spawned.pop().close()

    rows["spawn (fork + rlimits + seccomp)"] = sample(spawn, runs)
    reap()
    rows["spawn + 1 tool call"] = sample(spawn_and_call, runs)
    reap()
    warm = bare.session()
    rows["1 tool call (warm session)"] = sample(lambda: warm.run(ONE_CALL), runs)
    many = [warm.run(MANY_CALLS) for _ in range(max(3, runs // 20))]
    assert all(r.ok for r in many)
    rows["10,000 tool calls"] = [r.usage.wall_ms for r in many if r.usage]
    per_second = 10_000 / (statistics.median(rows["10,000 tool calls"]) / 1000)
    extra["10,000 tool calls"] = f"{per_second:,.0f} calls/s"

    short = bare.policy.model_copy(update={"limits": limits.model_copy(
        update={"timeout_seconds": 0.05, "cpu_seconds": 1.0})})
    bare.close()
    bare = Engine(registry, short, check_policy=False, check_types=False)
    restores = []
    for _ in range(max(5, runs // 10)):
        with bare.session() as session:
            for i in range(10):
                session.run(f"v{i} = get_user({i + 1})")
            started = time.perf_counter()
            result = session.run("while True:\n    pass")
            restores.append((time.perf_counter() - started) * 1000 - 50.0)
            assert result.restarted and not result.lost_names
    rows["restore after a kill (10-snippet replay)"] = restores
    extra["restore after a kill (10-snippet replay)"] = "beyond the 50 ms timeout itself"
    bare.close()

    full = Engine(registry, "default")
    full.warm_up()
    session = full.session()

    def pipeline() -> None:
        result = session.run(PIPELINE)
        assert result.ok, result.diagnostics

    rows["full pipeline (warm): check + run"] = sample(pipeline, runs)
    seeds = []
    for _ in range(max(5, runs // 10)):
        users.reset()  # outside the timing: rebuilding the directory takes ~45 ms
        started = time.perf_counter()
        result = session.run(SEED)
        seeds.append((time.perf_counter() - started) * 1000)
        assert result.ok and result.value == 2969, result.diagnostics
    rows["seed task: 10,000 users, deactivate inactive"] = seeds
    session.close()
    full.close()

    script = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
              "from examples.toolsets.users import *\n"
              "def final_answer(v):\n    print(v)\n"
              f"exec(compile({PIPELINE!r}, '<snippet>', 'exec'))\n")
    rows["python -c (fresh process, no checks)"] = sample(
        lambda: subprocess.run([sys.executable, "-c", script], check=True,
                               capture_output=True), max(5, runs // 5), warmup=1)

    headline = (statistics.median(rows["python -c (fresh process, no checks)"])
                / statistics.median(rows["full pipeline (warm): check + run"]))
    table = Table(title=f"sandbox latency (ms), runs={runs}")
    table.add_column("measure")
    table.add_column("p50", justify="right")
    table.add_column("p95", justify="right")
    table.add_column("n", justify="right")
    table.add_column("note")
    results: dict[str, dict[str, float | str]] = {}
    for name, values in rows.items():
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        table.add_row(name, f"{p50:.2f}", f"{p95:.2f}", str(len(values)), extra.get(name, ""))
        results[name] = {"p50": p50, "p95": p95, "n": len(values), "note": extra.get(name, "")}
    console = Console()
    console.print(table)
    console.print(f"fresh `python -c` / full engine pipeline: [bold]{headline:.1f}x[/] "
                  "(the engine checks and isolates, and is still faster)")
    results["headline_ratio_python_c_over_pipeline"] = {"ratio": headline}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

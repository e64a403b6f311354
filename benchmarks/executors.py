"""The cost of safety: the engine beside the executors agents use today, on the same snippets.

    pip install -e '.[bench]'
    python benchmarks/executors.py [--runs 30] [--memory-snippets 10000] [--quick]
                                   [--engine-only out.json]

Executors, all warm except `python -c`:
* engine: check only (parse + policy + mypy), check only without mypy, run only (static checks
  off, sandbox on), full pipeline, full pipeline without mypy, full pipeline in a new session
  (a new sandboxed process) per snippet;
* smolagents' LocalPythonExecutor (an AST interpreter in the host process, no isolation);
* RestrictedPython (compile_restricted + exec in the host process, no isolation);
* pydantic-monty (a Rust interpreter in pooled worker processes, tools as host functions, see
  `monty_peer.py`): a warm session, a warm session type-checked by its bundled ty against the
  tools' stubs, and a fresh worker process per snippet;
* a fresh `python -c` per snippet (the floor of process isolation, no checks).

Prints a table (p50/p95 ms, snippets per second, ratio to the engine's full pipeline and to
monty+ty), the project's goals (engine full pipeline at most 3x monty+ty on `x = 1 + 1`, 1.5x
on the 10-line snippet), how monty+ty's check grows over a long session, the engine's start-up
and the parent's memory over many snippets, and writes benchmarks/results/executors.json and
executors.png.
"""

from __future__ import annotations

import argparse
import gc
import json
import operator
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"

from benchmarks import bench_tools  # noqa: E402
from benchmarks.monty_peer import WARM_TY, MontyPeer, monty_available  # noqa: E402
from engine import Engine, ToolRegistry  # noqa: E402

SNIPPETS: dict[str, str] = {
    "trivial": "x = 1 + 1\n",
    "one tool call": "u = get_user(7)\nname = u.name\n",
    "10,000-item loop, a tool call each": (
        "n = 0\nfor i in range(10000):\n    n += add(i, 1)\n"),
    "1 MB string build": (
        "parts = []\nfor i in range(100000):\n    parts.append('0123456789')\n"
        "s = ''.join(parts)\nsize = len(s)\n"),
    "error case": "x = 1\ny = x / 0\n",
    "10 lines, 8 tool calls": (
        "total = 0\nnames = []\nfor i in range(1, 5):\n    u = get_user(i)\n"
        "    if u.active:\n        names.append(u.name)\n    total = add(total, u.id)\n"
        "names.sort()\ncount = len(names)\n"
        'summary = f"{count} active of 4, ids sum to {total}"\n'),
}

#: The project's goals: engine full pipeline p50 / monty+ty p50 at most this, per snippet.
GOALS = {"trivial": 3.0, "10 lines, 8 tool calls": 1.5}

Runner = Callable[[str], Any]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(run: Runner, source: str, runs: int) -> list[float]:
    run(source)  # warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run(source)
        times.append((time.perf_counter() - started) * 1000)
    return times


def engine_runners(registry: ToolRegistry) -> tuple[dict[str, Runner], list[Engine]]:
    full = Engine(registry, "default")
    fast = Engine(registry, "default", check_types=False)
    bare = Engine(registry, "default", check_policy=False, check_types=False)
    full.warm_up()
    sessions = {name: e.session() for name, e in (("full", full), ("fast", fast),
                                                   ("bare", bare))}
    return {
        "engine: check only": full.check,
        "engine: check only, no mypy": fast.check,
        "engine: run only (static off)": sessions["bare"].run,
        "engine: full pipeline": sessions["full"].run,
        "engine: full pipeline, no mypy": sessions["fast"].run,
        "engine: full pipeline, new session each": full.run,
    }, [full, fast, bare]


def smolagents_runner() -> Runner | None:
    try:
        from smolagents.local_python_executor import LocalPythonExecutor
    except ImportError:
        return None
    executor = LocalPythonExecutor(additional_authorized_imports=[])
    executor.send_tools({})
    executor.static_tools.update({"add": bench_tools.add.func,
                                  "get_user": bench_tools.get_user.func})

    def run(source: str) -> Any:
        try:
            return executor(source)
        except Exception as exc:  # the error case: an interpreter error is its outcome
            return exc

    return run


def restricted_runner() -> Runner | None:
    try:
        from RestrictedPython import compile_restricted, safe_globals
        from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
        from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence
    except ImportError:
        return None
    ops = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul}

    def run(source: str) -> Any:
        code = compile_restricted(source, "<snippet>", "exec")
        namespace: dict[str, Any] = {
            **safe_globals, "_getiter_": default_guarded_getiter,
            "_getitem_": default_guarded_getitem, "_write_": full_write_guard,
            "_getattr_": getattr, "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_inplacevar_": lambda op, x, y: ops[op](x, y),
            "add": bench_tools.add.func, "get_user": bench_tools.get_user.func,
        }
        try:
            exec(code, namespace)
        except Exception as exc:
            return exc
        return namespace

    return run


def python_c_runner() -> Runner:
    prelude = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
               "from benchmarks.bench_tools import add, get_user\n")

    def run(source: str) -> Any:
        return subprocess.run([sys.executable, "-c", prelude + source], capture_output=True,
                              check=False)

    return run


def startup() -> dict[str, float]:
    registry = ToolRegistry(bench_tools.TOOLS)
    started = time.perf_counter()
    engine = Engine(registry, "default")
    constructed = time.perf_counter()
    engine.check("x = 1")
    checked = time.perf_counter()
    session = engine.session()
    session.run("x = 1")
    ran = time.perf_counter()
    engine.close()
    return {"construct_ms": (constructed - started) * 1000,
            "first_check_ms": (checked - constructed) * 1000,
            "first_session_and_run_ms": (ran - checked) * 1000,
            "total_ms": (ran - started) * 1000}


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def parent_memory(snippets: int) -> dict[str, float]:
    engine = Engine(ToolRegistry(bench_tools.TOOLS), "default")
    session = engine.session()
    for i in range(200):
        session.run(f"v = add({i}, 1)")
    gc.collect()
    before = _rss_mib()
    samples = []
    started = time.perf_counter()
    for i in range(snippets):
        session.run(f"v = add({i}, 1)" if i % 10 else "w = 1 / 0")
        if i % max(1, snippets // 10) == 0:
            samples.append(_rss_mib())
    elapsed = time.perf_counter() - started
    gc.collect()
    after = _rss_mib()
    engine.close()
    return {"snippets": snippets, "rss_before_mib": before, "rss_after_mib": after,
            "growth_mib": after - before, "rss_max_sampled_mib": max(samples, default=after),
            "snippets_per_second": snippets / elapsed}


def chart(results: dict[str, dict[str, dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    executors = list(results)
    snippets = list(SNIPPETS)
    fig, ax = plt.subplots(figsize=(12, 5.5))
    width = 0.8 / len(executors)
    for i, name in enumerate(executors):
        values = [results[name].get(s, {}).get("p50", 0.0) for s in snippets]
        ax.bar([x + i * width for x in range(len(snippets))], values, width, label=name)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(snippets))], snippets, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("p50 latency (ms, log scale)")
    ax.set_title(f"Executors on the same snippets ({platform.machine()}, "
                 f"{time.strftime('%Y-%m-%d')})")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--memory-snippets", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="few runs, for a smoke test")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--engine-only", type=Path, metavar="JSON",
                        help="measure only the engine's rows and write them to JSON (what "
                        "before_after.py runs against two checkouts)")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    console = Console()
    registry = ToolRegistry(bench_tools.TOOLS)
    runners, engines = engine_runners(registry)
    if args.engine_only:
        measured = {executor: {snippet: {"p50": statistics.median(times),
                                         "p95": percentile(times, 0.95), "n": len(times)}
                               for snippet, source in SNIPPETS.items()
                               for times in [timed(run, source, runs)]}
                    for executor, run in runners.items()}
        for engine in engines:
            engine.close()
        args.engine_only.parent.mkdir(parents=True, exist_ok=True)
        args.engine_only.write_text(json.dumps(measured, indent=2))
        console.print(f"wrote {args.engine_only}")
        return
    for name, factory in (("smolagents LocalPythonExecutor", smolagents_runner),
                          ("RestrictedPython", restricted_runner)):
        peer = factory()
        if peer is None:
            console.print(f"[yellow]{name} is not installed (pip install -e '.[bench]')[/]")
        else:
            runners[name] = peer
    monty: MontyPeer | None = None
    monty_problems: list[str] = []
    unavailable = monty_available()
    if unavailable is not None:
        console.print(f"[yellow]{escape(unavailable)}[/]")
    else:
        monty = MontyPeer(bench_tools.TOOLS)
        monty_problems = monty.self_check(SNIPPETS)
        for problem in monty_problems:
            console.print(f"[red]monty self-check: {escape(problem)}[/]")
        console.print(f"monty self-check: host-side tool calls {dict(monty.calls)}")
        runners.update(monty.runners())
    runners["python -c (fresh process)"] = python_c_runner()

    results: dict[str, dict[str, dict[str, float]]] = {}
    for executor, run in runners.items():
        results[executor] = {}
        for snippet, source in SNIPPETS.items():
            count = max(3, runs // 5) if executor.startswith("python -c") else runs
            times = timed(run, source, count)
            results[executor][snippet] = {"p50": statistics.median(times),
                                          "p95": percentile(times, 0.95), "n": len(times)}
    for engine in engines:
        engine.close()
    ty_growth = None
    if monty is not None:
        ty_growth = monty.ty_growth(SNIPPETS["trivial"], 100 if args.quick else 500)
        monty.close()

    baseline = results["engine: full pipeline"]
    versus = results.get(WARM_TY)
    table = Table(title=f"executors (ms); ratio = p50 / engine full pipeline p50"
                        f"{'; vs monty+ty = p50 / monty+ty p50' if versus else ''}; runs={runs}")
    columns = ["executor", "snippet", "p50", "p95", "per s", "ratio"]
    for column in columns + (["vs monty+ty"] if versus else []):
        table.add_column(column, justify="left" if column in ("executor", "snippet")
                         else "right")
    for executor, rows in results.items():
        for snippet, row in rows.items():
            ratio = row["p50"] / baseline[snippet]["p50"]
            row["ratio_to_engine"] = ratio
            cells = [executor, snippet, f"{row['p50']:.2f}", f"{row['p95']:.2f}",
                     f"{1000 / row['p50']:.0f}", f"{ratio:.2f}x"]
            if versus:
                row["ratio_to_monty_ty"] = row["p50"] / versus[snippet]["p50"]
                cells.append(f"{row['ratio_to_monty_ty']:.2f}x")
            table.add_row(*cells)
        table.add_section()
    console.print(table)
    goals: dict[str, dict[str, float | bool]] = {}
    if versus:
        for snippet, goal in GOALS.items():
            ratio = baseline[snippet]["p50"] / versus[snippet]["p50"]
            goals[snippet] = {"engine_full_over_monty_ty": ratio, "goal": goal,
                              "met": ratio <= goal}
        console.print("engine full pipeline / monty+ty (p50): " + ", ".join(
            f"{snippet} [{'green' if row['met'] else 'red'}]{row['engine_full_over_monty_ty']:.2f}x"
            f"[/] (goal <= {row['goal']:g}x)" for snippet, row in goals.items()))
    if ty_growth is not None:
        console.print(
            f"monty+ty over {ty_growth['feeds']:.0f} feeds of `x = 1 + 1` in one session: p50 "
            f"{ty_growth['ty_first_ms']:.2f} ms (first 20) -> {ty_growth['ty_last_ms']:.2f} ms "
            f"(last 20); without ty {ty_growth['no_ty_first_ms']:.2f} -> "
            f"{ty_growth['no_ty_last_ms']:.2f} ms")

    boot = startup()
    console.print("engine start-up: " + ", ".join(f"{k} {v:.0f}" for k, v in boot.items()))
    memory = parent_memory(200 if args.quick else args.memory_snippets)
    console.print(f"parent memory over {memory['snippets']} snippets (full pipeline, 10% "
                  f"failing): RSS {memory['rss_before_mib']:.0f} -> "
                  f"{memory['rss_after_mib']:.0f} MiB ({memory['growth_mib']:+.1f}), "
                  f"{memory['snippets_per_second']:.0f} snippets/s")
    args.output.mkdir(parents=True, exist_ok=True)
    payload = {"machine": f"{platform.machine()}, {platform.system()}, "
                          f"{platform.python_version()}",
               "date": time.strftime("%Y-%m-%d"), "runs": runs, "executors": results,
               "startup": boot, "parent_memory": memory,
               "engine_full_over_monty_ty": goals, "monty_ty_growth": ty_growth,
               "monty_self_check": monty_problems}
    (args.output / "executors.json").write_text(json.dumps(payload, indent=2))
    try:
        chart(results, args.output / "executors.png")
    except ImportError:
        console.print(f"wrote {args.output / 'executors.json'}; no chart: matplotlib is not "
                      r"installed (pip install -e '.\[bench]')")
        return
    console.print(f"wrote {args.output / 'executors.json'} and {args.output / 'executors.png'}")


if __name__ == "__main__":
    main()

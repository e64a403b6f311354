"""`codeact check` in a new process: 1 file and 20 files, with and without the type cache.

    python benchmarks/check_cold.py [--runs 7] [--json out.json]

Each run is a new `codeact check` process (`python -m engine check`) over the 10-line snippet
with 8 tool calls (tools from benchmarks/bench_tools.py), or over 20 variants of it checked as
one session. Three ways to start the type checker:

* no cache: `CODEACT_NO_CACHE=1`, mypy builds its state from nothing, as before the cache;
* cold cache: an empty cache directory, so the run builds the entry (then loads it);
* warm cache: a directory a previous run filled, so the run loads the entry.

Runs of all cases are interleaved, round by round, so that a change in the machine's load
touches them alike; the ratio is to the no-cache run of the same size in this invocation.
Figures are wall-clock seconds on this machine; compare them within one run only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent

SNIPPET = """\
total = 0
names = []
for i in range(1, 5):
    u = get_user(i)
    if u.active:
        names.append(u.name)
    total = add(total, u.id)
names.sort()
count = len(names)
summary = f"{count} active of 4, ids sum to {total}"
"""

CACHES = ("no cache", "cold cache", "warm cache")
SIZES = (1, 20)


def write_snippets(directory: Path) -> dict[int, list[str]]:
    one = directory / "one"
    many = directory / "twenty"
    one.mkdir()
    many.mkdir()
    (one / "snippet.py").write_text(SNIPPET)
    for i in range(20):  # the session rebinds the same names with other values
        (many / f"s{i:02d}.py").write_text(SNIPPET.replace("total = 0", f"total = {i}"))
    return {1: [str(one / "snippet.py")], 20: [str(many)]}


def environment(cache: str, scratch: Path, warm_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CODEACT_CACHE_DIR", "CODEACT_NO_CACHE")}
    if cache == "no cache":
        env["CODEACT_NO_CACHE"] = "1"
    elif cache == "cold cache":
        fresh = Path(tempfile.mkdtemp(prefix="cold-", dir=scratch))
        env["CODEACT_CACHE_DIR"] = str(fresh)
    else:
        env["CODEACT_CACHE_DIR"] = str(warm_dir)
    return env


def run_check(files: list[str], env: dict[str, str]) -> float:
    command = [sys.executable, "-m", "engine", "check", "--tools", "benchmarks.bench_tools",
               *files]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"`codeact check` failed ({done.returncode}):\n{done.stdout}"
                         f"{done.stderr}")
    return elapsed


def measure(runs: int) -> dict[str, dict[str, float]]:
    samples: dict[tuple[str, int], list[float]] = {(c, n): [] for c in CACHES for n in SIZES}
    with tempfile.TemporaryDirectory(prefix="check-cold-") as scratch_name:
        scratch = Path(scratch_name)
        inputs = write_snippets(scratch)
        warm_dir = scratch / "warm"
        run_check(inputs[1], environment("warm cache", scratch, warm_dir))  # fills it
        for _ in range(runs):
            for size in SIZES:
                for cache in CACHES:
                    env = environment(cache, scratch, warm_dir)
                    samples[(cache, size)].append(run_check(inputs[size], env))
                    if cache == "cold cache":
                        shutil.rmtree(env["CODEACT_CACHE_DIR"], ignore_errors=True)
    results: dict[str, dict[str, float]] = {}
    for (cache, size), values in sorted(samples.items(), key=lambda item: item[0][1]):
        base = statistics.median(samples[("no cache", size)])
        results[f"{size} file{'s' if size > 1 else ''}, {cache}"] = {
            "p50": statistics.median(values), "min": min(values), "max": max(values),
            "ratio": statistics.median(values) / base, "n": len(values)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results = measure(args.runs)
    load_after = os.getloadavg()[0]
    table = Table(title=f"cold `codeact check`, 10-line snippet (s; n={args.runs} each; load "
                        f"average {load_before:.1f} -> {load_after:.1f} on {os.cpu_count()} "
                        "CPUs)")
    table.add_column("case")
    for column in ("p50", "min", "max", "vs no cache"):
        table.add_column(column, justify="right")
    for name, row in results.items():
        table.add_row(name, f"{row['p50']:.2f}", f"{row['min']:.2f}", f"{row['max']:.2f}",
                      f"{row['ratio']:.2f}x")
    Console().print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

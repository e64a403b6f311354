"""What emptying the standard library's caches costs each snippet, against a warm run.

    python benchmarks/cache_reset.py [--runs 2000]

The child empties ``re``'s and ``typing``'s caches before every snippet (a key whose
``__eq__`` lies could otherwise make a later snippet find an earlier one's entry; SECURITY.md,
fourth red team). Rows, in one process:

* empty caches: ``_forget_caches()`` when nothing was cached since the last call;
* after a busy snippet: when 100 patterns were compiled and 100 typing aliases made first
  (timed as refill + reset, minus the refill alone);
* warm sandbox run of ``x = 1`` (static checks off): the floor a snippet pays anyway, for the
  ratio.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
import typing
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import Engine  # noqa: E402
from engine.sandbox.child import _forget_caches  # noqa: E402


def _fill(round_: int) -> None:
    for i in range(100):
        re.compile(f"p{round_}_{i}[a-z]+")
        typing.Optional[typing.List[typing.Dict[str, int]]]  # noqa: UP006, UP045
        typing.Tuple[int, ...] if i % 2 else typing.Union[int, str]  # noqa: UP006, UP007


def _per_call_us(fn: typing.Callable[[], object], runs: int) -> float:
    start = time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - start) / runs * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    runs = args.runs

    _forget_caches()
    empty = _per_call_us(_forget_caches, runs)
    rounds = iter(range(10**9))
    refill = _per_call_us(lambda: _fill(next(rounds)), runs // 20)
    both = _per_call_us(lambda: (_fill(next(rounds)), _forget_caches()), runs // 20)
    busy = max(both - refill, 0.0)

    with Engine((), "default", check_policy=False, check_types=False) as engine, \
            engine.session() as session:
        session.run("x = 0")
        times = []
        for _ in range(min(runs, 500)):
            start = time.perf_counter()
            session.run("x = 1")
            times.append((time.perf_counter() - start) * 1e6)
    warm = statistics.median(times)

    table = Table(title="cache reset before each snippet (µs)")
    table.add_column("case")
    table.add_column("µs", justify="right")
    table.add_column("share of a warm run", justify="right")
    table.add_row("empty caches", f"{empty:.1f}", f"{empty / warm:.2%}")
    table.add_row("after 100 patterns + 200 typing aliases (reset, and the misses it causes)",
                  f"{busy:.1f}", f"{busy / warm:.2%}")
    table.add_row("warm sandbox run of `x = 1` (p50)", f"{warm:.0f}", "100%")
    Console().print(table)


if __name__ == "__main__":
    main()

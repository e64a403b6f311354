"""What the write barrier costs a snippet's attribute stores, in one process.

    python benchmarks/write_barrier.py [--writes 200000] [--repeats 5]

The child compiles every attribute store into a checked call (engine/sandbox/write_barrier.py).
Rows: the same snippet compiled as the child does with the barrier and without it, executed
here (no sandbox, so only the barrier differs): a loop of ``self.x = i`` on an object of the
snippet's class, the same with ``+=``, and an ordinary snippet (the everyday mix: a few
objects built, a dict and list pass) where stores are a small share. Best of ``--repeats``.
"""

from __future__ import annotations

import argparse
import builtins
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.sandbox.child import _compile  # noqa: E402
from engine.sandbox.receivers import build_class  # noqa: E402
from engine.sandbox.write_barrier import HELPERS  # noqa: E402

CLASS = "class Counter:\n    def __init__(self):\n        self.x = 0\nc = Counter()\n"
SNIPPETS = {
    "`c.x = i` loop": CLASS + "for i in range({n}):\n    c.x = i\n",
    "`c.x += 1` loop": CLASS + "for i in range({n}):\n    c.x += 1\n",
    "everyday mix": (
        "class P:\n    def __init__(self, a, b):\n        self.a = a\n        self.b = b\n"
        "rows = [P(i, i * 2) for i in range({n} // 10)]\n"
        "totals = {{}}\nfor r in rows:\n    totals[r.a % 7] = totals.get(r.a % 7, 0) + r.b\n"
        "best = sorted(totals.items(), key=lambda kv: -kv[1])[:3]\n"),
}


def _time(source: str, guard: bool, repeats: int) -> float:
    body, _ = _compile(source, guard)
    best = float("inf")
    for _ in range(repeats):
        namespace: dict[str, Any] = {"__name__": "__snippet__", "__builtins__": {
            **vars(builtins), **HELPERS, "__build_class__": build_class}}
        start = time.perf_counter()
        exec(body, namespace)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    table = Table(title=f"attribute stores with and without the write barrier "
                        f"(n={args.writes:,}, best of {args.repeats})")
    for column in ("snippet", "without (ms)", "with (ms)", "ratio", "per store (ns)"):
        table.add_column(column, justify="left" if column == "snippet" else "right")
    for name, template in SNIPPETS.items():
        source = template.format(n=args.writes)
        plain = _time(source, False, args.repeats)
        guarded = _time(source, True, args.repeats)
        per_store = f"{(guarded - plain) / args.writes * 1e9:.0f}" if "loop" in name else "-"
        table.add_row(name, f"{plain * 1000:.1f}", f"{guarded * 1000:.1f}",
                      f"{guarded / plain:.2f}x", per_store)
    Console().print(table)


if __name__ == "__main__":
    main()

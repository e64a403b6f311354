"""Before and after a change, in one command: the same measuring scripts against two trees.

    python benchmarks/before_after.py [--before f0812c9] [--rounds 3] [--check-runs 100]
                                      [--sandbox-runs 50] [--executor-runs 30] [--json out.json]

The ``--before`` commit is unpacked into a temporary directory (``git archive``) and this
tree's measuring scripts are copied over its own, so both engines are measured by the same
code: `check_latency.py`, `sandbox_latency.py` and the engine rows of `executors.py`
(``--engine-only``). Each round runs every script on the old tree, then on this one; the table
gives, per figure, the median over the rounds of each run's p50, and after / before.
Alternating spreads a change in the machine's load over both sides alike.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent

#: The commit before issue 14 ("speed at the floor").
DEFAULT_BEFORE = "f0812c9"
SCRIPTS = ("check_latency.py", "sandbox_latency.py", "executors.py", "monty_peer.py",
           "bench_tools.py")


def unpack(revision: str, into: Path) -> Path:
    tree = into / "before"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    for script in SCRIPTS:
        shutil.copy2(ROOT / "benchmarks" / script, tree / "benchmarks" / script)
    return tree


def measure(tree: Path, out: Path, args: argparse.Namespace) -> dict[str, float]:
    """One round on one tree: every figure's p50, by a name shared by both trees."""
    out.mkdir(parents=True, exist_ok=True)
    runs = [
        ("check", ["check_latency.py", "--runs", str(args.check_runs)]),
        ("sandbox", ["sandbox_latency.py", "--runs", str(args.sandbox_runs)]),
        ("executors", ["executors.py", "--runs", str(args.executor_runs)]),
    ]
    figures: dict[str, float] = {}
    for name, command in runs:
        target = out / f"{name}.json"
        flag = ["--engine-only", str(target)] if name == "executors" else ["--json", str(target)]
        subprocess.run([sys.executable, str(tree / "benchmarks" / command[0]), *command[1:],
                        *flag], cwd=tree, check=True, stdout=subprocess.DEVNULL,
                       env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin",
                            "HOME": str(Path.home())})
        data = json.loads(target.read_text())
        if name == "executors":
            for executor, rows in data.items():
                for snippet, row in rows.items():
                    figures[f"{executor} · {snippet}"] = row["p50"]
        else:
            figures.update({f"{name}: {k}": v["p50"] for k, v in data.items() if "p50" in v})
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=DEFAULT_BEFORE)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--check-runs", type=int, default=100)
    parser.add_argument("--sandbox-runs", type=int, default=50)
    parser.add_argument("--executor-runs", type=int, default=30)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results"
                        / "before_after.json")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory(prefix="codeact-before-") as scratch:
        before = unpack(args.before, Path(scratch))
        rounds: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
        for index in range(args.rounds):
            for side, tree in (("before", before), ("after", ROOT)):
                console.print(f"round {index + 1}/{args.rounds}: {side}")
                rounds[side].append(measure(tree, Path(scratch) / side / str(index), args))
    names = [n for n in rounds["after"][0] if all(n in r for r in rounds["before"])]
    table = Table(title=f"before ({args.before}) and after, median of {args.rounds} rounds' "
                        "p50 (ms)")
    for column in ("figure", "before", "after", "after / before"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    payload: dict[str, dict[str, float]] = {}
    for name in names:
        old = statistics.median(r[name] for r in rounds["before"])
        new = statistics.median(r[name] for r in rounds["after"])
        payload[name] = {"before": old, "after": new, "ratio": new / old if old else 0.0}
        table.add_row(name, f"{old:.2f}", f"{new:.2f}", f"{new / old:.2f}" if old else "-")
    console.print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"before": args.before, "rounds": args.rounds,
                                     "figures": payload}, indent=2))
    console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

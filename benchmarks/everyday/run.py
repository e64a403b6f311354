"""How much ordinary, harmless Python the engine accepts and runs correctly.

    python benchmarks/everyday/run.py [--policy default] [--category X] [--show-failures N]
                                  [--json OUT]

Every snippet of `benchmarks/everyday/corpus.py` (classes, dataclasses, enums, closures,
dates, regexes, unannotated dicts, ...) runs twice: under plain CPython in a fresh
`python -I -c` (the reference, PYTHONHASHSEED=0), and through the engine in a fresh session.
A snippet counts as accepted and correct when the engine's run is ok and prints exactly what
the reference printed. Every other outcome is classified by the stage and code of its first
error diagnostic (parse, policy, types, runtime), or as "wrong output". The corpus holds no
real errors, so every refusal is a false one: the figures measure what the policy and the
type check cost ordinary code.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.everyday.corpus import Snippet  # noqa: E402
from engine import Engine, Policy, RunResult, Severity  # noqa: E402

REFERENCE_TIMEOUT = 10.0
CORRECT = "correct"
WRONG_OUTPUT = "wrong output"




@dataclass
class Outcome:
    id: str
    category: str
    outcome: str  # "correct", "wrong output", "stage CODE", or "reference failed"
    stage: str | None = None
    code: str | None = None
    rule: str | None = None
    message: str | None = None
    line: int | None = None
    expected: str | None = None
    got: str | None = None
    seconds: float = 0.0

    @property
    def correct(self) -> bool:
        return self.outcome == CORRECT


def load_corpus() -> list[Snippet]:
    from benchmarks.everyday.corpus import SNIPPETS

    return list(SNIPPETS)


def reference_run(code: str, hash_seed: str = "0") -> subprocess.CompletedProcess[str]:
    """The snippet under plain CPython, isolated from the user's site and environment."""
    env = {"PYTHONHASHSEED": hash_seed, "PATH": os.environ.get("PATH", "")}
    return subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                          timeout=REFERENCE_TIMEOUT, env=env, check=False)


def first_error(result: RunResult) -> tuple[str, str, str, str, int] | None:
    for d in result.diagnostics:
        if d.severity == Severity.ERROR:
            return d.stage.value, d.code, d.rule, d.message, d.line
    return None


def classify(snippet: Snippet, reference: str, result: RunResult,
             seconds: float) -> Outcome:
    base = Outcome(snippet.id, snippet.category, CORRECT, seconds=round(seconds, 4))
    if result.ok and result.stdout == reference:
        return base
    if result.ok:
        base.outcome = WRONG_OUTPUT
        base.expected, base.got = reference, result.stdout
        return base
    found = first_error(result)
    if found is None:
        base.outcome = "failed without a diagnostic"
        base.got = result.stdout
        return base
    base.stage, base.code, base.rule, base.message, base.line = found
    base.outcome = f"{base.stage} {base.code}"
    return base


def measure(snippets: list[Snippet], policy: Policy, console: Console) -> list[Outcome]:
    engine = Engine((), policy)
    outcomes: list[Outcome] = []
    try:
        with console.status("running snippets") as status:
            for i, snippet in enumerate(snippets, 1):
                status.update(f"[{i}/{len(snippets)}] {snippet.id}")
                ref = reference_run(snippet.code)
                if ref.returncode != 0:
                    last = ref.stderr.strip().splitlines()[-1:] or [f"exit {ref.returncode}"]
                    outcomes.append(Outcome(snippet.id, snippet.category, "reference failed",
                                            message=last[0]))
                    continue
                started = time.perf_counter()
                with engine.session() as session:
                    result = session.run(snippet.code)
                outcomes.append(classify(snippet, ref.stdout, result,
                                         time.perf_counter() - started))
    finally:
        engine.close()
    return outcomes


def share(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"


def category_table(outcomes: list[Outcome], policy_name: str) -> Table:
    table = Table(title=f"everyday snippets accepted and correct (policy {policy_name!r})")
    table.add_column("category")
    table.add_column("snippets", justify="right")
    table.add_column("correct", justify="right")
    table.add_column("share", justify="right")
    table.add_column("most common other outcome")
    categories = list(dict.fromkeys(o.category for o in outcomes))
    for category in categories:
        rows = [o for o in outcomes if o.category == category]
        good = sum(o.correct for o in rows)
        others = Counter(o.outcome for o in rows if not o.correct).most_common(1)
        top = f"{others[0][0]} ({others[0][1]})" if others else ""
        table.add_row(category, str(len(rows)), str(good), share(good, len(rows)), top)
    good = sum(o.correct for o in outcomes)
    table.add_section()
    table.add_row("total", str(len(outcomes)), str(good), share(good, len(outcomes)), "",
                  style="bold")
    return table


def refusal_table(outcomes: list[Outcome], limit: int = 20) -> Table:
    failures = [o for o in outcomes if not o.correct]
    counts = Counter(o.outcome for o in failures)
    table = Table(title=f"refusals and failures ({len(failures)} snippets), most common first")
    table.add_column("outcome")
    table.add_column("rule")
    table.add_column("count", justify="right")
    table.add_column("categories", justify="right")
    table.add_column("example")
    for key, count in counts.most_common(limit):
        group = [o for o in failures if o.outcome == key]
        example = group[0]
        message = example.message or ("stdout differs" if key == WRONG_OUTPUT else "")
        table.add_row(key, example.rule or "", str(count),
                      str(len({o.category for o in group})),
                      f"{message}  [dim]({example.id})[/dim]")
    return table


def pick_failures(outcomes: list[Outcome], n: int) -> list[Outcome]:
    """N failures, round-robin over the outcome kinds so that the examples differ."""
    failures = [o for o in outcomes if not o.correct]
    kinds = [k for k, _ in Counter(o.outcome for o in failures).most_common()]
    queues = {k: [o for o in failures if o.outcome == k] for k in kinds}
    picked: list[Outcome] = []
    while len(picked) < n and any(queues.values()):
        for k in kinds:
            if queues[k] and len(picked) < n:
                picked.append(queues[k].pop(0))
    return picked


def show_failures(console: Console, outcomes: list[Outcome], snippets: list[Snippet],
                  n: int) -> None:
    code_by_id = {s.id: s.code for s in snippets}
    for o in pick_failures(outcomes, n):
        console.rule(f"{o.id}: {o.outcome}")
        if o.message is not None:
            where = f"line {o.line}: " if o.line is not None else ""
            console.print(f"[bold]{where}{o.message}[/bold]", highlight=False)
        console.print(Syntax(code_by_id[o.id].rstrip("\n"), "python", line_numbers=True,
                             highlight_lines={o.line} if o.line else None))
        if o.outcome == WRONG_OUTPUT:
            console.print(f"expected: {o.expected!r}\ngot:      {o.got!r}", highlight=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="default", help="policy name or path")
    parser.add_argument("--category", help="run only this category")
    parser.add_argument("--show-failures", type=int, default=0, metavar="N",
                        help="print N failing snippets with their first diagnostic")
    parser.add_argument("--json", type=Path, help="also write every snippet's outcome as JSON")
    args = parser.parse_args()

    console = Console()
    snippets = load_corpus()
    if args.category:
        snippets = [s for s in snippets if s.category == args.category]
        if not snippets:
            known = sorted({s.category for s in load_corpus()})
            parser.error(f"no snippets in category {args.category!r}; known: {known}")
    policy = Policy.load(args.policy)
    started = time.perf_counter()
    outcomes = measure(snippets, policy, console)
    elapsed = time.perf_counter() - started

    console.print(category_table(outcomes, policy.name))
    good = sum(o.correct for o in outcomes)
    console.print(f"[bold]{good}/{len(outcomes)} ({share(good, len(outcomes))})[/bold] "
                  f"accepted and correct, in {elapsed:.1f} s")
    if good < len(outcomes):
        console.print(refusal_table(outcomes))
    if args.show_failures:
        show_failures(console, outcomes, snippets, args.show_failures)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "policy": policy.name,
            "category": args.category,
            "snippets": len(outcomes),
            "correct": good,
            "share": round(good / len(outcomes), 4) if outcomes else None,
            "outcomes": [asdict(o) for o in outcomes],
        }, indent=2))


if __name__ == "__main__":
    main()

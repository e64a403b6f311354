"""What pydantic-monty can run of ours: the executor snippets and the agent tasks' solutions.

    python benchmarks/monty_capability.py [--tasks TEXT]

Each item runs in a new monty session twice: without a type check, and with monty's bundled
ty checking it against the engine's own stubs of the tools (what mypy checks against; without
`__all__`, see `monty_peer.monty_stubs`). Tools are host functions that validate their
arguments as the engine's broker does, and pydantic results cross as `ClassInstance`s (see
`monty_peer.py`).

An item runs when:
* a snippet of `executors.SNIPPETS`: monty ends the way CPython does (no error, or the same
  exception type) and every top-level name CPython binds (tools and modules aside) reads back
  from the monty session equal to CPython's value, with the bench tools behind both;
* a task of `benchmarks/agent_tasks`: the solution calls `final_answer` and its argument
  matches the task's reference answer under the suite's own `answers_match` (what
  `tests/test_agent_tasks.py` and the scored runs use), the toolset reset before and after
  as the suite does. Tasks under the `data` policy import pandas, which monty cannot.

Prints the items monty cannot run and why (the first line of the error), totals, and writes
benchmarks/results/monty_capability.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import types
from collections import Counter
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
from benchmarks.agent_tasks.spec import Task, answers_match  # noqa: E402
from benchmarks.agent_tasks.tasks import TASKS  # noqa: E402
from benchmarks.executors import SNIPPETS  # noqa: E402
from benchmarks.monty_peer import (  # noqa: E402
    LIMITS,
    host_functions,
    monty_available,
    monty_stubs,
    outcome_error,
)
from engine import ToolRegistry, load_tools  # noqa: E402

MODES = {"monty": False, "monty + ty": True}
PANDAS = "cannot run: imports numpy/pandas"


class Finished(Exception):
    """Raised by `final_answer` on the host to end the snippet, as the engine's does."""


def _quiet(stream: str, text: str) -> None:
    """Monty's print callback: solutions' output is not the subject here."""


class Capability:
    """One monty pool, and a judgement of each item in each mode: None when it runs, else
    why not."""

    def __init__(self) -> None:
        from pydantic_monty import Monty

        self.pool = Monty()
        self.pool.__enter__()
        self.calls: Counter[str] = Counter()

    def close(self) -> None:
        self.pool.__exit__(None, None, None)

    def feed(self, source: str, registry: ToolRegistry, lookup: dict[str, Any],
             type_check: bool, then: Callable[[Any, Any], str | None]) -> str | None:
        """Run `source` in a new session; `then(outcome, session)` judges what it left."""
        from pydantic_monty import MontyError

        with self.pool.checkout(limits=LIMITS, type_check=type_check,
                                type_check_stubs=monty_stubs(registry) if type_check else None,
                                type_check_format="concise") as session:
            try:
                outcome: Any = session.feed_run(source, external_lookup=lookup,
                                                print_callback=_quiet)
            except MontyError as exc:
                outcome = exc
            return then(outcome, session)

    def snippet(self, source: str, type_check: bool) -> str | None:
        registry = ToolRegistry(bench_tools.TOOLS)
        expected_error, expected = _cpython(source)
        names = sorted(expected)

        def judge(outcome: Any, session: Any) -> str | None:
            error = outcome_error(outcome)
            if error is not None and (expected_error is None
                                      or not error.startswith(expected_error + ":")):
                return error
            if error is None and expected_error is not None:
                return f"no {expected_error} (CPython raises it)"
            got = session.feed_run("(" + "".join(f"{n}, " for n in names) + ")",
                                   external_lookup=self.lookup_for(registry),
                                   skip_type_check=True)
            wrong = [n for n, value in zip(names, got, strict=True) if value != expected[n]]
            return f"differs from CPython: {', '.join(wrong)}" if wrong else None

        return self.feed(source, registry, self.lookup_for(registry), type_check, judge)

    def lookup_for(self, registry: ToolRegistry) -> dict[str, Any]:
        return host_functions(registry, self.calls, validate=True)

    def task(self, task: Task, type_check: bool) -> tuple[str | None, Any, Any]:
        """(why it does not run or None, monty's final answer, the expected answer)."""
        if task.policy != "default":
            return PANDAS, None, None
        registry = load_tools(task.toolset)
        answers: list[Any] = []

        def final_answer(value: Any) -> None:
            answers.append(value)
            raise Finished

        lookup = {**self.lookup_for(registry), "final_answer": final_answer}

        def judge(outcome: Any, session: Any) -> str | None:
            if answers:  # the Finished that final_answer raised is the way out, not an error
                return None
            error = outcome_error(outcome)
            return error or "ended without calling final_answer"

        if task.reset is not None:
            task.reset()
        expected = task.reference()
        if task.reset is not None:
            task.reset()
        try:
            why = self.feed(task.solution, registry, lookup, type_check, judge)
        finally:
            if task.reset is not None:
                task.reset()
        answer = answers[0] if answers else None
        if why is None and not answers_match(expected, answer):
            why = f"wrong answer: {_short(answer)} (expected {_short(expected)})"
        return why, answer, expected


def _cpython(source: str) -> tuple[str | None, dict[str, Any]]:
    """What CPython makes of a bench snippet: the type of the exception it raises (or None)
    and the top-level names it binds, tools and modules aside."""
    tools = {t.name: t.func for t in bench_tools.TOOLS}
    namespace: dict[str, Any] = dict(tools)
    error = None
    try:
        exec(source, namespace)
    except Exception as exc:
        error = type(exc).__name__
    return error, {k: v for k, v in namespace.items()
                   if k not in tools and not k.startswith("__")
                   and not isinstance(v, types.ModuleType)}


def _short(value: Any, size: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= size else text[: size - 3] + "..."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="", help="only task ids containing this text")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    console = Console()
    unavailable = monty_available()
    if unavailable is not None:
        console.print(f"[yellow]{escape(unavailable)}[/]")
        return
    import pydantic_monty

    capability = Capability()
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        for name, source in SNIPPETS.items():
            rows.append({"kind": "snippet", "id": name, "toolset": "benchmarks.bench_tools",
                         **{mode: capability.snippet(source, ty) for mode, ty in MODES.items()}})
        for task in (t for t in TASKS if args.tasks in t.id):
            row: dict[str, Any] = {"kind": "task", "id": task.id, "toolset": task.toolset,
                                   "policy": task.policy}
            for mode, ty in MODES.items():
                why, answer, expected = capability.task(task, ty)
                row[mode] = why
                row[f"{mode} answer"] = answer
                row["expected"] = expected
            rows.append(row)
            console.print(f"{'[green]✓[/]' if row['monty'] is None else '[red]✗[/]'}"
                          f"{'[green]✓[/]' if row['monty + ty'] is None else '[red]✗[/]'} "
                          f"{task.id}", highlight=False)
    finally:
        capability.close()

    table = Table(title=f"what pydantic-monty {pydantic_monty.__version__} cannot run "
                        "(blank: runs)")
    for column in ("item", *MODES):
        table.add_column(column, overflow="fold")
    for row in rows:
        if any(row[mode] is not None for mode in MODES):
            table.add_row(escape(row["id"]), *(escape(row[mode] or "") for mode in MODES))
    console.print(table)
    totals: dict[str, dict[str, int]] = {}
    for kind in ("snippet", "task", "all"):
        group = [r for r in rows if kind in ("all", r["kind"])]
        totals[kind] = {"items": len(group),
                        **{mode: sum(r[mode] is None for r in group) for mode in MODES}}
        console.print(f"{kind + 's' if kind != 'all' else 'all'}: runs "
                      f"{totals[kind]['monty']}/{len(group)}, {totals[kind]['monty + ty']}/"
                      f"{len(group)} with ty")
    reasons = Counter(r[mode].split(":")[0] for r in rows for mode in MODES
                      if r[mode] is not None)
    console.print("reasons (both modes): " + ", ".join(f"{k} {v}" for k, v in
                                                       reasons.most_common()))
    args.output.mkdir(parents=True, exist_ok=True)
    out = args.output / "monty_capability.json"
    out.write_text(json.dumps({
        "pydantic_monty": pydantic_monty.__version__,
        "machine": f"{platform.machine()}, {platform.system()}, {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "elapsed_s": round(time.perf_counter() - started, 1),
        "runs_when": {"snippet": "same outcome as CPython and every top-level name equal",
                      "task": "final_answer(...) matches the reference (spec.answers_match)"},
        "totals": totals, "host_tool_calls": dict(capability.calls), "items": rows,
    }, indent=2, default=str))
    console.print(f"wrote {out}")


if __name__ == "__main__":
    main()

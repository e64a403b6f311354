"""numpy and pandas in the sandbox (the data policy) against plain Python (the default policy).

    python benchmarks/data_work.py [--runs 20] [--json out.json]

Needs the data extra (pip install -e '.[data]'). Three tables, all from one run:

1. the seed's aggregations over the 10,000 users of examples/toolsets/users.py (a count, a
   group-by count, a mean per city), each written with pandas (data policy) and in plain Python
   (default policy), through the full pipeline in a warm session: the check and the run, and
   the child's peak memory. Each snippet's answer is compared with the host's own figure, so a
   row cannot be fast by being wrong;
2. the sandbox: zygote start-up until ready, a session child's spawn and first snippet, and the
   zygote's resident memory, data zygote against the default one;
3. the type checker: its start-up, its resident memory once warm, and the check of `x = 1` and
   of a pandas snippet, in a fresh process per policy (so that one's memory is not the other's).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import Engine, Policy, load_tools  # noqa: E402
from engine.sandbox.spec import build_spec  # noqa: E402
from engine.sandbox.zygote import Zygote  # noqa: E402
from engine.tools import ToolRegistry  # noqa: E402
from examples.toolsets import users  # noqa: E402

FETCH = "rows = get_all_users()\n"

#: (task, pandas snippet, plain snippet); each ends with final_answer of the figure.
TASKS: list[tuple[str, str, str]] = [
    ("count active users",
     "import pandas as pd\n" + FETCH
     + "df = pd.DataFrame([u.model_dump() for u in rows])\n"
     "final_answer(int(df['active'].sum()))\n",
     FETCH + "final_answer(sum(1 for u in rows if u.active))\n"),
    ("users per country (group-by)",
     "import pandas as pd\n" + FETCH
     + "df = pd.DataFrame([u.model_dump() for u in rows])\n"
     "df['country'] = df['address'].map(lambda a: a['country'])\n"
     "final_answer(df.groupby('country').size().to_dict())\n",
     "from collections import Counter\n" + FETCH
     + "final_answer(dict(Counter(u.address.country for u in rows)))\n"),
    ("mean days since login per city",
     "import pandas as pd\n" + FETCH
     + "df = pd.DataFrame([u.model_dump() for u in rows])\n"
     "df['city'] = df['address'].map(lambda a: a['city'])\n"
     "days = (pd.Timestamp('2026-01-01') - pd.to_datetime(df['last_login'])).dt.days\n"
     "final_answer(days.groupby(df['city']).mean().round(2).to_dict())\n",
     "import datetime\nimport statistics\n" + FETCH
     + "end = datetime.date(2026, 1, 1)\n"
     "gaps: dict[str, list[int]] = {}\n"
     "for u in rows:\n"
     "    gaps.setdefault(u.address.city, []).append((end - u.last_login).days)\n"
     "final_answer({c: round(statistics.mean(g), 2) for c, g in gaps.items()})\n"),
]


def expected() -> list[Any]:
    import datetime

    everyone = list(users.DIRECTORY.users.values())
    end = datetime.date(2026, 1, 1)
    gaps: dict[str, list[int]] = {}
    for u in everyone:
        gaps.setdefault(u.address.city, []).append((end - u.last_login).days)
    return [sum(u.active for u in everyone),
            dict(Counter(u.address.country for u in everyone)),
            {c: round(statistics.mean(g), 2) for c, g in gaps.items()}]


def p50(values: list[float]) -> float:
    return statistics.median(values)


def pipeline_rows(runs: int) -> list[dict[str, Any]]:
    registry = load_tools("examples.toolsets.users")
    engines = {"pandas": Engine(registry, "data"), "plain": Engine(registry, "default")}
    for engine in engines.values():
        engine.warm_up()
    rows = []
    try:
        for (task, pandas_src, plain_src), answer in zip(TASKS, expected(), strict=True):
            for style, source in (("pandas", pandas_src), ("plain", plain_src)):
                session = engines[style].session()
                checks, runs_ms, peaks = [], [], []
                for _ in range(runs + 2):  # two warm-ups, dropped
                    result = session.run(source)
                    if result.value != answer:
                        raise SystemExit(f"{task} ({style}) answered {result.value!r}: "
                                         f"{result.diagnostics}")
                    assert result.check is not None and result.usage is not None
                    checks.append(sum(s.duration_ms for s in result.check.stages))
                    runs_ms.append(result.usage.wall_ms)
                    peaks.append(result.usage.peak_memory_bytes / 2**20)
                rows.append({"task": task, "style": style, "check_ms": p50(checks[2:]),
                             "run_ms": p50(runs_ms[2:]), "peak_mb": max(peaks)})
                session.close()
    finally:
        for engine in engines.values():
            engine.close()
    return rows


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sandbox_rows(runs: int) -> list[dict[str, Any]]:
    from engine.sandbox.broker import SandboxProcess, ToolBroker

    rows = []
    first = {"default": "x = 1", "data": "import pandas as pd\nx = pd.Series([1, 2]).sum()"}
    for name in ("default", "data"):
        policy = Policy.load(name)
        spec = build_spec(ToolRegistry(), policy).model_dump_json().encode()
        starts, spawns, firsts, rss = [], [], [], []
        for _ in range(max(3, runs // 5)):
            started = time.perf_counter()
            zygote = Zygote(spec)
            zygote.ready()
            starts.append((time.perf_counter() - started) * 1000)
            rss.append(_rss_mb(zygote.pid))
            zygote.close()
        zygote = Zygote(spec)
        zygote.ready()
        try:
            for _ in range(runs):
                started = time.perf_counter()
                process = SandboxProcess(zygote, policy.limits)
                spawned = time.perf_counter()
                outcome = process.execute(first[name], ToolBroker(ToolRegistry(), policy.limits),
                                          1).outcome
                done = time.perf_counter()
                assert outcome is not None and outcome.ok, outcome
                spawns.append((spawned - started) * 1000)
                firsts.append((done - started) * 1000)
                process.close()
        finally:
            zygote.close()
        rows.append({"policy": name, "zygote_start_ms": p50(starts), "zygote_rss_mb": p50(rss),
                     "spawn_ms": p50(spawns), "spawn_first_snippet_ms": p50(firsts)})
    return rows


_CHECKER_PROBE = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
from engine import Policy
from engine.catalog import ToolCatalog
from engine.checks import CheckSpec, StaticChecker
from engine.stubs import render_stubs
from engine.tools import ToolRegistry
policy = Policy.load(sys.argv[1])
spec = CheckSpec(policy=policy, tools=ToolCatalog.of(ToolRegistry()),
                 stubs=render_stubs(ToolRegistry()))
checker = StaticChecker(spec)
started = time.perf_counter()
checker.warm()
warm_s = time.perf_counter() - started
def timed(source):
    for _ in range(3):
        checker.check(source)
    times = []
    for _ in range(int(sys.argv[3])):
        t = time.perf_counter()
        report = checker.check(source)
        times.append(time.perf_counter() - t)
    assert report.ok, report.diagnostics
    times.sort()
    return times[len(times) // 2] * 1000
result = {"warm_s": warm_s, "x1_ms": timed("x = 1")}
if "pandas" in policy.allowed_modules:
    result["pandas_ms"] = timed("import pandas as pd\\ndf = pd.DataFrame({'a': [1, 2]})\\n"
                                "m = df.groupby('a')['a'].count().to_dict()\\n")
result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


def checker_rows(runs: int) -> list[dict[str, Any]]:
    rows = []
    for name in ("default", "data"):
        out = subprocess.run([sys.executable, "-c", _CHECKER_PROBE, name, str(ROOT), str(runs)],
                             capture_output=True, text=True, check=True).stdout
        rows.append({"policy": name, **json.loads(out)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    console = Console()

    pipeline = pipeline_rows(args.runs)
    table = Table(title=f"Seed aggregations over 10,000 users, full pipeline, warm session "
                        f"(p50 of {args.runs})")
    for column in ("task", "written with", "check ms", "run ms", "total ms", "peak MB"):
        table.add_column(column, justify="left" if column in ("task", "written with")
                         else "right")
    for row in pipeline:
        table.add_row(row["task"], row["style"], f"{row['check_ms']:.1f}", f"{row['run_ms']:.1f}",
                      f"{row['check_ms'] + row['run_ms']:.1f}", f"{row['peak_mb']:.0f}")
    console.print(table)

    sandbox = sandbox_rows(args.runs)
    table = Table(title=f"The sandbox per policy (p50; spawn of {args.runs})")
    for column in ("policy", "zygote start ms", "zygote RSS MB", "spawn ms",
                   "spawn + first snippet ms"):
        table.add_column(column, justify="right")
    for row in sandbox:
        table.add_row(row["policy"], f"{row['zygote_start_ms']:.0f}",
                      f"{row['zygote_rss_mb']:.0f}", f"{row['spawn_ms']:.2f}",
                      f"{row['spawn_first_snippet_ms']:.1f}")
    console.print(table)

    checker = checker_rows(max(20, args.runs))
    table = Table(title="The type checker per policy (a fresh process each; check p50)")
    for column in ("policy", "warm-up s", "max RSS MB", "check `x = 1` ms",
                   "check pandas snippet ms"):
        table.add_column(column, justify="right")
    for row in checker:
        table.add_row(row["policy"], f"{row['warm_s']:.2f}", f"{row['rss_mb']:.0f}",
                      f"{row['x1_ms']:.2f}",
                      f"{row['pandas_ms']:.2f}" if "pandas_ms" in row else "-")
    console.print(table)

    if args.json:
        args.json.write_text(json.dumps({"pipeline": pipeline, "sandbox": sandbox,
                                         "checker": checker}, indent=2))


if __name__ == "__main__":
    main()

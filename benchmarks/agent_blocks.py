"""First code block or all of them: measured on what models really replied.

    python benchmarks/agent_blocks.py TRANSCRIPTS_DIR... [--json OUT.json]

Reads the CodeAct transcripts an agent run wrote (``agent_tasks/run.py`` writes one per task
and mode), takes every reply that held more than one code block, and checks both readings of it
through the engine's full static pipeline (parse, policy, types) with the run's toolset and
policy: the first complete block alone (``blocks="first"``, the default) and all blocks joined
(``blocks="all"``). A reading "passes" when no check reports an error. Nothing runs: the
replies come from runs whose later turns depended on what ran before, so only the checks
compare the two readings on equal terms.

Structured-output runs are skipped: their replies have one ``code`` field and no blocks.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import Engine, load_tools  # noqa: E402
from engine.agent.extract import extract_code  # noqa: E402
from engine.agent.transcript import RunHeader, TurnRecord, read_transcript  # noqa: E402


@dataclass(frozen=True)
class Reading:
    source: str
    turn: int
    blocks: int
    first_passes: bool
    all_passes: bool


def readings(paths: list[Path]) -> tuple[list[Reading], Counter[str]]:
    engines: dict[tuple[str, str], Engine] = {}
    found: list[Reading] = []
    seen: Counter[str] = Counter()
    try:
        for path in sorted(p for d in paths for p in (d.rglob("*.jsonl") if d.is_dir() else [d])):
            header: RunHeader | None = None
            for record in read_transcript(path):
                if isinstance(record, RunHeader):
                    header = record
                    continue
                if (not isinstance(record, TurnRecord) or header is None
                        or header.mode != "codeact" or header.structured):
                    continue
                seen["replies"] += 1
                every = extract_code(record.model_output, "all")
                if every.blocks > 1:
                    seen["several blocks"] += 1
                if every.blocks <= 1 or every.code is None:
                    continue
                first = extract_code(record.model_output, "first").code or ""
                key = (header.tools, header.policy or "default")
                engine = engines.get(key)
                if engine is None:
                    engine = engines[key] = Engine(load_tools(key[0]), key[1])
                found.append(Reading(str(path), record.turn, every.blocks,
                                     engine.check(first).ok, engine.check(every.code).ok))
    finally:
        for engine in engines.values():
            engine.close()
    return found, seen


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    found, seen = readings(args.paths)
    both = sum(r.first_passes and r.all_passes for r in found)
    only_first = sum(r.first_passes and not r.all_passes for r in found)
    only_all = sum(r.all_passes and not r.first_passes for r in found)
    neither = len(found) - both - only_first - only_all
    table = Table(title=f"{seen['replies']} CodeAct replies, {len(found)} with several code "
                        "blocks: which reading passes every check")
    for column in ("first block passes", "all blocks pass", "both", "only first",
                   "only all", "neither"):
        table.add_column(column, justify="right")
    table.add_row(str(both + only_first), str(both + only_all), str(both), str(only_first),
                  str(only_all), str(neither))
    Console().print(table)
    if args.json is not None:
        args.json.write_text(json.dumps({
            "replies": seen["replies"], "several_blocks": len(found), "both": both,
            "only_first": only_first, "only_all": only_all, "neither": neither,
            "readings": [r.__dict__ for r in found]}, indent=2))


if __name__ == "__main__":
    main()

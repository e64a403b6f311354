"""Run the task suite in every mode on one model and compare: the seed talk's experiment.

    python benchmarks/agent_tasks/run.py --model qwen2.5-coder:1.5b [--host URL]
    python benchmarks/agent_tasks/run.py --scripted          # the harness itself, no model

Modes: CodeAct with structured feedback, with plain traceback feedback, without feedback, and
JSON tool calling (one call per step). Per mode: success rate (exact match), mean turns,
tokens and wall time, and which stage's diagnostics were followed by a fix. Writes
benchmarks/results/agent_tasks-LABEL.json, a PNG chart, and one transcript per run.

With --scripted the loopback Ollama-API server answers from a script built from each task's
reference solution, with a deliberate failure first on some tasks (policy, types, runtime),
so that scoring, turn accounting, fix attribution and transcripts are checked, not a model.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.agent_tasks.spec import CATEGORIES, Task, answers_match  # noqa: E402
from engine import Engine, load_tools  # noqa: E402
from engine.agent import (  # noqa: E402
    CodeActAgent,
    ExampleTurn,
    JsonToolAgent,
    Model,
    generated_example,
)
from engine.agent.backends import BackendName, connect  # noqa: E402
from engine.agent.loop import Agent  # noqa: E402
from engine.agent.transcript import TurnRecord  # noqa: E402
from engine.diagnostics import Severity  # noqa: E402
from engine.testing.fake_ollama import DEFAULT_MODEL, FakeOllama, Reply  # noqa: E402

MODES = ("codeact-structured", "codeact-plain", "codeact-none", "json")
RESULTS = ROOT / "benchmarks" / "results"

#: Deliberate first turns of the scripted model, by task index modulo 4 (0: none).
SCRIPTED_FAILURES = {1: ("policy", "import os\n"),
                     2: ("types", "final_answer(len(1))\n"),
                     3: ("runtime", "ratio = 1 / 0\n")}


@dataclass(frozen=True)
class AgentSettings:
    """How the CodeAct agent is set up for a run (see ``CodeActAgent``), and which backend
    talks to the server."""

    structured: bool = False
    example: str | None = None  # "auto": generated from the toolset, else a TOML file
    blocks: str = "first"
    keep_observations: int | None = None
    backend: BackendName = "ollama"


@dataclass
class RunScore:
    task: str
    category: str
    mode: str
    success: bool
    expected: Any
    answer: Any
    stop_reason: str
    turns: int
    prompt_tokens: int
    completion_tokens: int
    wall_s: float
    fixed_after: list[str] = field(default_factory=list)  # stages whose failures came first
    error: str | None = None


def _failed_stage(turn: TurnRecord) -> str | None:
    if turn.error:
        return None
    errors = [d for d in (*turn.extraction, *turn.diagnostics) if d.severity is Severity.ERROR]
    if errors:
        return errors[0].stage.value
    if turn.requested_calls and turn.ok is False:
        return "tool"
    return None


def scripted_replies(task: Task, index: int, mode: str) -> list[str | Reply]:
    """What the scripted model says for a task: its solution, after a deliberate failure on
    three tasks in four (codeact), or its JSON calls and then the answer (json)."""
    if mode == "json":
        calls: list[str | Reply] = [Reply(tool_calls=((name, args),))
                                    for name, args in task.json_calls]
        return [*calls, json.dumps(task.reference())]
    script: list[str | Reply] = []
    failure = SCRIPTED_FAILURES.get(index % 4)
    if failure is not None:
        script.append(f"Let me start.\n```python\n{failure[1]}```")
    script.append(f"```python\n{task.solution.rstrip()}\n```")
    return script


class SuiteRunner:
    """Scores one task in one mode at a time, with a warm engine per toolset and, when
    scripted, a loopback Ollama-API server of its own: what one process (or one Ray actor)
    holds. Tasks are named by id, so a Ray actor finds them in its own import of the suite,
    and their toolsets' state is this process's."""

    def __init__(self, *, script_for: Callable[[Task, int, str], list[str | Reply]] | None,
                 model_name: str = DEFAULT_MODEL, host: str | None = None,
                 options: dict[str, Any] | None = None, max_turns: int = 6,
                 tasks: Sequence[Task] | None = None,
                 settings: AgentSettings | None = None) -> None:
        self.settings = settings or AgentSettings()
        self.script_for = script_for
        self.model_name = model_name
        self.host = host
        self.options = options or {}
        self.max_turns = max_turns
        self.tasks = {t.id: t for t in (tasks if tasks is not None else _all_tasks())}
        self.engines: dict[str, Engine] = {}
        self.server = FakeOllama().start() if script_for is not None else None

    def score(self, task_id: str, index: int, mode: str,
              keep_transcript: bool = True) -> tuple[RunScore, str | None]:
        """The score of one run and its transcript (JSON lines)."""
        task = self.tasks[task_id]
        key = f"{task.toolset}:{task.policy}"
        engine = self.engines.get(key)
        if engine is None:
            engine = self.engines[key] = Engine(load_tools(task.toolset), task.policy)
        if task.reset is not None:
            task.reset()
        expected = task.reference()
        if task.reset is not None:
            task.reset()
        if self.server is not None and self.script_for is not None:
            self.server.load(self.script_for(task, index, mode))
        model = connect(self.settings.backend, self.model_name,
                        host=self.server.url if self.server else self.host, options=self.options)
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "transcript.jsonl" if keep_transcript else None
            try:
                score = _run_one(task, mode, engine, model, expected, self.max_turns, path,
                                 self.settings)
            finally:
                # What this task changed is not seen by the next one (whichever process
                # runs it): every task starts from its toolset's initial state.
                if task.reset is not None:
                    task.reset()
            text = path.read_text() if path is not None and path.exists() else None
        return score, text

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        for engine in self.engines.values():
            engine.close()


def _all_tasks() -> Sequence[Task]:
    from benchmarks.agent_tasks.tasks import TASKS

    return TASKS


def _save_transcript(transcripts: Path | None, score: RunScore, text: str | None) -> None:
    if transcripts is None or text is None:
        return
    (transcripts / score.mode).mkdir(parents=True, exist_ok=True)
    (transcripts / score.mode / f"{score.task}.jsonl").write_text(text)


def run_suite(tasks: Sequence[Task], modes: Sequence[str], *,
              script_for: Callable[[Task, int, str], list[str | Reply]] | None = None,
              model_name: str = DEFAULT_MODEL, host: str | None = None,
              options: dict[str, Any] | None = None, max_turns: int = 6,
              transcripts: Path | None = None,
              progress: Callable[[RunScore], None] | None = None,
              ray_address: str | None = None, actors: int = 0,
              settings: AgentSettings | None = None) -> list[RunScore]:
    """Every task in every mode; without ``script_for``, a real model at ``host``. With
    ``ray_address`` the runs fan out over ``actors`` Ray actors (default: one per CPU of the
    cluster), each holding warm engines, as ``codeact batch --ray`` does; scores come back in
    the same order as a run in this process."""
    jobs = [(task.id, index, mode) for mode in modes for index, task in enumerate(tasks)]
    scores: list[RunScore] = []
    if ray_address is None:
        runner = SuiteRunner(script_for=script_for, model_name=model_name, host=host,
                             options=options, max_turns=max_turns, tasks=tasks,
                             settings=settings)
        try:
            for job in jobs:
                score, text = runner.score(*job, keep_transcript=transcripts is not None)
                _save_transcript(transcripts, score, text)
                scores.append(score)
                if progress is not None:
                    progress(score)
        finally:
            runner.close()
        return scores
    return _run_on_ray(jobs, ray_address, actors, transcripts, progress,
                       dict(script_for=script_for, model_name=model_name, host=host,
                            options=options, max_turns=max_turns, settings=settings))


def _run_on_ray(jobs: list[tuple[str, int, str]], address: str, actors: int,
                transcripts: Path | None, progress: Callable[[RunScore], None] | None,
                settings: dict[str, Any]) -> list[RunScore]:
    import ray
    from ray.util import ActorPool

    from engine.distributed import connect

    owns = connect(address)
    try:
        size = actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
        remote = ray.remote(num_cpus=1)(SuiteRunner)
        handles = [remote.remote(**settings) for _ in range(min(size, len(jobs)) or 1)]
        pool = ActorPool(handles)
        order = {(task_id, mode): n for n, (task_id, _, mode) in enumerate(jobs)}
        scored: list[RunScore] = []
        keep = transcripts is not None
        for score, text in pool.map_unordered(
                lambda actor, job: actor.score.remote(*job, keep_transcript=keep), jobs):
            _save_transcript(transcripts, score, text)
            scored.append(score)
            if progress is not None:
                progress(score)
        for handle in handles:
            ray.get(handle.close.remote())
            ray.kill(handle)
        return sorted(scored, key=lambda s: order[(s.task, s.mode)])
    finally:
        if owns:
            ray.shutdown()


def _run_one(task: Task, mode: str, engine: Engine, model: Model, expected: Any,
             max_turns: int, transcript: Path | None,
             settings: AgentSettings | None = None) -> RunScore:
    settings = settings or AgentSettings()
    agent: Agent
    if mode == "json":
        agent = JsonToolAgent(engine, model, max_turns=max_turns, transcript=transcript,
                              tools_spec=task.toolset, max_observation_chars=4000)
    else:
        feedback = mode.split("-", 1)[1]
        example: ExampleTurn | None = None
        if settings.example == "auto":
            example = generated_example(engine)
        elif settings.example:
            example = ExampleTurn.from_file(settings.example)
        agent = CodeActAgent(engine, model, max_turns=max_turns, feedback=feedback,  # type: ignore[arg-type]
                             transcript=transcript, tools_spec=task.toolset,
                             structured=settings.structured, example=example,
                             blocks=settings.blocks,  # type: ignore[arg-type]
                             keep_observations=settings.keep_observations)
    started = time.perf_counter()
    answer = agent.run(task.instruction)
    success = answer.stop_reason in ("final_answer", "answered") and answers_match(
        expected, answer.value)
    failed = [s for s in (_failed_stage(t) for t in answer.transcript) if s]
    return RunScore(
        task=task.id, category=task.category, mode=mode, success=success, expected=expected,
        answer=answer.value, stop_reason=answer.stop_reason, turns=answer.turns,
        prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens,
        wall_s=time.perf_counter() - started, fixed_after=failed if success else [],
        error=answer.error,
    )


def summarize(scores: Sequence[RunScore]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for mode in dict.fromkeys(s.mode for s in scores):
        rows = [s for s in scores if s.mode == mode]
        fixes = Counter(stage for s in rows for stage in dict.fromkeys(s.fixed_after))
        summary[mode] = {
            "tasks": len(rows),
            "success_rate": sum(s.success for s in rows) / len(rows),
            "mean_turns": statistics.mean(s.turns for s in rows),
            "mean_prompt_tokens": statistics.mean(s.prompt_tokens for s in rows),
            "mean_completion_tokens": statistics.mean(s.completion_tokens for s in rows),
            "mean_wall_s": statistics.mean(s.wall_s for s in rows),
            "fixed_after": dict(sorted(fixes.items())),
            "by_category": {c: sum(s.success for s in rows if s.category == c)
                            / max(1, sum(s.category == c for s in rows)) for c in CATEGORIES},
        }
    return summary


def chart(summary: dict[str, dict[str, Any]], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.8))
    modes = list(summary)
    width = 0.8 / len(modes)
    for i, mode in enumerate(modes):
        values = [summary[mode]["by_category"][c] * 100 for c in CATEGORIES]
        ax.bar([x + i * width for x in range(len(CATEGORIES))], values, width,
               label=f"{mode} ({summary[mode]['success_rate'] * 100:.0f}%)")
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(CATEGORIES))], CATEGORIES)
    ax.set_ylabel("tasks solved (%)")
    ax.set_ylim(0, 105)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    from benchmarks.agent_tasks.tasks import TASKS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--host", default=None, help="Ollama URL (default: $OLLAMA_HOST)")
    parser.add_argument("--scripted", action="store_true",
                        help="answer from each task's solution via a loopback server")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--tasks", default="", help="only task ids containing this text")
    parser.add_argument("--limit", type=int, default=0, help="only the first N tasks")
    parser.add_argument("--per-category", type=int, default=0,
                        help="only the first N tasks of each category (a balanced sample)")
    parser.add_argument("--num-predict", type=int, default=0,
                        help="cap the tokens of one reply (passed to Ollama)")
    parser.add_argument("--max-turns", type=int, default=6)
    parser.add_argument("--num-ctx", type=int, default=8192)
    parser.add_argument("--structured", action="store_true",
                        help="CodeAct replies as JSON {thought, code}, the schema sent along")
    parser.add_argument("--example-turn", default=None, metavar="auto|FILE",
                        help="a worked example before the task: generated, or a TOML file")
    parser.add_argument("--blocks", choices=("first", "all"), default="first",
                        help="of several code blocks in a reply, run the first or all")
    parser.add_argument("--keep-observations", type=int, default=None, metavar="N",
                        help="send only the latest N observations in full")
    parser.add_argument("--backend", choices=("ollama", "openai"), default="ollama")
    parser.add_argument("--label", default="", help="names the results file")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--ray", default=None, metavar="ADDRESS",
                        help="fan the runs out over Ray actors: local (start a cluster here), "
                             "auto (join the running one) or an address")
    parser.add_argument("--actors", type=int, default=0,
                        help="Ray actors (default: one per CPU of the cluster)")
    args = parser.parse_args()
    tasks = [t for t in TASKS if args.tasks in t.id][: args.limit or None]
    if args.per_category:
        tasks = [t for c in CATEGORIES for t in [t for t in tasks if t.category == c]
                 [: args.per_category]]
    modes = [m for m in args.modes.split(",") if m]
    label = args.label or ("scripted" if args.scripted else args.model.replace(":", "-"))
    console = Console()

    def progress(score: RunScore) -> None:
        mark = "[green]✓[/]" if score.success else "[red]✗[/]"
        console.print(f"{mark} {score.mode:<20} {score.task:<36} turns={score.turns} "
                      f"answer={json.dumps(score.answer)[:40]} expected="
                      f"{json.dumps(score.expected)[:40]}")

    settings = AgentSettings(structured=args.structured, example=args.example_turn,
                             blocks=args.blocks, keep_observations=args.keep_observations,
                             backend=args.backend)
    started = time.time()
    scores = run_suite(tasks, modes, script_for=scripted_replies if args.scripted else None,
                       model_name=args.model, host=args.host,
                       options={"temperature": 0, "seed": 0, "num_ctx": args.num_ctx,
                                **({"num_predict": args.num_predict} if args.num_predict
                                   else {})},
                       max_turns=args.max_turns, transcripts=args.output / f"transcripts-{label}",
                       progress=progress, ray_address=args.ray, actors=args.actors,
                       settings=settings)
    summary = summarize(scores)
    table = Table(title=f"{len(tasks)} tasks, model {'scripted' if args.scripted else args.model}")
    for column in ("mode", "success", "mean turns", "prompt tok", "completion tok",
                   "wall s", "fixed after failures in"):
        table.add_column(column, justify="left" if column in ("mode", "fixed after failures in")
                         else "right")
    for mode, row in summary.items():
        table.add_row(mode, f"{row['success_rate'] * 100:.1f}%", f"{row['mean_turns']:.2f}",
                      f"{row['mean_prompt_tokens']:.0f}", f"{row['mean_completion_tokens']:.0f}",
                      f"{row['mean_wall_s']:.2f}",
                      ", ".join(f"{k}: {v}" for k, v in row["fixed_after"].items()) or "-")
    console.print(table)
    args.output.mkdir(parents=True, exist_ok=True)
    meta = {"model": "scripted" if args.scripted else args.model,
            "host": None if args.scripted else args.host,
            "machine": f"{platform.machine()} {platform.system()}, Python "
                       f"{platform.python_version()}",
            "date": time.strftime("%Y-%m-%d"), "elapsed_s": round(time.time() - started, 1),
            "max_turns": args.max_turns, "tasks": len(tasks),
            "ray": args.ray, "actors": args.actors or None, "settings": asdict(settings),
            "options": {"num_ctx": args.num_ctx, "num_predict": args.num_predict or None}}
    out = args.output / f"agent_tasks-{label}.json"
    out.write_text(json.dumps({"meta": meta, "summary": summary,
                               "runs": [asdict(s) for s in scores]}, indent=2, default=str))
    console.print(f"wrote {out}")
    try:
        chart(summary, f"{meta['model']} on {len(tasks)} tasks ({meta['date']}, "
                       f"{meta['machine']})", args.output / f"agent_tasks-{label}.png")
    except ImportError:
        console.print(r"no chart: matplotlib is not installed (pip install -e '.\[bench]')")


if __name__ == "__main__":
    main()

"""The agent benchmark's harness, on the whole suite in every mode, with a scripted model
behind the loopback Ollama-API server: scoring, turn accounting, fix attribution, transcripts.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.agent_tasks.run import (
    MODES,
    SCRIPTED_FAILURES,
    run_suite,
    scripted_replies,
    summarize,
)
from benchmarks.agent_tasks.tasks import TASKS


def test_whole_suite_in_every_mode(tmp_path: Path) -> None:
    scores = run_suite(TASKS, MODES, script_for=scripted_replies, transcripts=tmp_path)
    assert len(scores) == len(TASKS) * len(MODES)
    failures = [(s.mode, s.task, s.answer, s.expected) for s in scores if not s.success]
    assert not failures, failures

    for score in scores:
        index = next(i for i, t in enumerate(TASKS) if t.id == score.task)
        task = TASKS[index]
        if score.mode == "json":
            assert score.turns == len(task.json_calls) + 1
            assert score.stop_reason == "answered"
        else:
            injected = SCRIPTED_FAILURES.get(index % 4)
            assert score.turns == (2 if injected else 1), score
            assert score.fixed_after == ([injected[0]] if injected else [])
            assert score.stop_reason == "final_answer"
        assert score.prompt_tokens > 0 and score.completion_tokens > 0
        lines = (tmp_path / score.mode / f"{score.task}.jsonl").read_text().splitlines()
        records = [json.loads(line) for line in lines]
        assert records[0]["kind"] == "run" and records[0]["tools"] == task.toolset
        assert records[-1]["kind"] == "answer" and records[-1]["turns"] == score.turns

    summary = summarize(scores)
    assert set(summary) == set(MODES)
    codeact = summary["codeact-structured"]
    assert codeact["success_rate"] == 1.0
    expected_fixes = {stage: sum(1 for i in range(len(TASKS)) if i % 4 == k)
                      for k, (stage, _) in SCRIPTED_FAILURES.items()}
    assert codeact["fixed_after"] == dict(sorted(expected_fixes.items()))
    assert summary["json"]["fixed_after"] == {}

"""`codeact agent` solves the bundled seed tasks end to end against the loopback server, and
`codeact replay` re-runs what it recorded."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.testing.fake_ollama import FakeOllama, Reply
from examples.toolsets import company, phones, users

runner = CliRunner()


@pytest.fixture(autouse=True)
def fresh_directory() -> Iterator[None]:
    users.reset()
    yield
    users.reset()


def code(text: str) -> str:
    return f"```python\n{text}\n```"


def cheapest_country() -> str:
    prices = {c: phones.get_phone_price("Pixel 9", c) for c in phones.list_countries()}
    usd = {c: phones.convert_currency(p.amount, p.currency) for c, p in prices.items() if p}
    return min(usd, key=lambda c: usd[c])


def city_with_most_employees() -> str:
    counts: dict[str, int] = {}
    for name in company.list_companies():
        for dept in company.get_company(name).departments:
            for e in dept.employees:
                counts[e.address.city] = counts.get(e.address.city, 0) + 1
    return max(counts, key=lambda c: counts[c])


SEED_TASKS = [
    (
        "examples.toolsets.users",
        "Deactivate every inactive user and tell me how many there were",
        [code("inactive = [u for u in get_all_users() if not u.active]\nprint(len(inactive))"),
         code("for u in inactive:\n    deactivate(u.id)\nfinal_answer(len(inactive))")],
        lambda: sum(not u.active for u in users.Directory().users.values()),
    ),
    (
        "examples.toolsets.phones",
        "In which country is the Pixel 9 cheapest, in US dollars?",
        [code("best = None\nfor c in list_countries():\n    p = get_phone_price('Pixel 9', c)\n"
              "    if p is None:\n        continue\n"
              "    usd = convert_currency(p.amount, p.currency)\n"
              "    if best is None or usd < best[1]:\n        best = (c, usd)\n"
              "print(best)"),
         code("assert best is not None\nfinal_answer(best[0])")],
        cheapest_country,
    ),
    (
        "examples.toolsets.company",
        "Across all companies, which city do the most employees live in?",
        [code("from collections import Counter\ncities = Counter()\n"
              "for name in list_companies():\n    for d in get_company(name).departments:\n"
              "        for e in d.employees:\n            cities[e.address.city] += 1\n"
              "final_answer(cities.most_common(1)[0][0])")],
        city_with_most_employees,
    ),
]


@pytest.mark.parametrize(("tools", "task", "script", "truth"), SEED_TASKS)
def test_codeact_agent_solves_seed_task(tools: str, task: str, script: list[str],
                                        truth: object, tmp_path: Path) -> None:
    transcript = tmp_path / "run.jsonl"
    with FakeOllama(script) as server:
        result = runner.invoke(app, ["agent", task, "--tools", tools, "--host", server.url,
                                     "--transcript", str(transcript), "--temperature", "0",
                                     "--seed", "1"])
    assert result.exit_code == 0, result.output
    expected = truth() if callable(truth) else truth
    answer = json.loads(transcript.read_text().splitlines()[-1])
    assert answer["stop_reason"] == "final_answer" and answer["value"] == expected
    assert "answer (final_answer)" in result.output and "turn 1" in result.output
    assert server.chats[0]["options"] == {"temperature": 0.0, "seed": 1}

    replayed = runner.invoke(app, ["replay", str(transcript)])
    assert replayed.exit_code == 0, replayed.output
    assert "replay of" in replayed.output and " no " not in replayed.output


def test_json_mode_from_the_command_line(tmp_path: Path) -> None:
    transcript = tmp_path / "json.jsonl"
    script = [Reply(tool_calls=(("get_user", {"user_id": 5}),)), "User 5 is Fatima Weber."]
    with FakeOllama(script) as server:
        result = runner.invoke(app, ["agent", "Who is user 5?", "--tools",
                                     "examples.toolsets.users", "--host", server.url,
                                     "--mode", "json", "--transcript", str(transcript)])
    assert result.exit_code == 0, result.output
    assert "tool call get_user" in result.output
    header = json.loads(transcript.read_text().splitlines()[0])
    assert header["mode"] == "json"
    replayed = runner.invoke(app, ["replay", str(transcript)])
    assert replayed.exit_code == 0, replayed.output


def test_agent_without_a_server_says_how_to_start_one() -> None:
    with FakeOllama() as server:
        url = server.url
    result = runner.invoke(app, ["agent", "anything", "--tools", "examples.toolsets.users",
                                 "--host", url, "--timeout", "5"])
    assert result.exit_code == 2
    assert "ollama serve" in result.output


def test_replay_detects_a_changed_verdict(tmp_path: Path) -> None:
    transcript = tmp_path / "run.jsonl"
    with FakeOllama([code("import math\nfinal_answer(math.floor(2.5))")]) as server:
        result = runner.invoke(app, ["agent", "floor", "--tools", "examples.toolsets.users",
                                     "--host", server.url, "--transcript", str(transcript)])
    assert result.exit_code == 0
    header = json.loads(transcript.read_text().splitlines()[0])
    assert header["policy"] == "default" and header["policy_digest"].startswith("sha256:")
    replayed = runner.invoke(app, ["replay", str(transcript), "--policy", "strict"])
    assert replayed.exit_code == 1
    assert "failed P130,P101" in replayed.output
    # ...and it says the judge changed: the digest recorded is not strict's
    assert "verdicts may differ" in replayed.output
    same = runner.invoke(app, ["replay", str(transcript)])
    assert "verdicts may differ" not in same.output


def test_replay_of_a_missing_or_bad_file(tmp_path: Path) -> None:
    assert runner.invoke(app, ["replay", str(tmp_path / "none.jsonl")]).exit_code == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    result = runner.invoke(app, ["replay", str(bad)])
    assert result.exit_code == 2 and "bad.jsonl:1" in result.output


DEACTIVATE = [code("inactive = [u.id for u in get_all_users() if not u.active][:3]\n"
                   "for i in inactive:\n    deactivate(i)\nprint(inactive)"),
              code("final_answer(len(inactive))")]


def record_run(transcript: Path, script: list[str], task: str = "deactivate") -> None:
    with FakeOllama(script) as server:
        result = runner.invoke(app, ["agent", task, "--tools", "examples.toolsets.users",
                                     "--host", server.url, "--transcript", str(transcript)])
    assert result.exit_code in (0, 1), result.output


def edit_first_turn(transcript: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    lines = transcript.read_text().splitlines()
    turn = json.loads(lines[1])
    edit(turn)
    lines[1] = json.dumps(turn)
    transcript.write_text("\n".join(lines) + "\n")


def test_replay_calls_no_tool_unless_live(tmp_path: Path) -> None:
    transcript = tmp_path / "run.jsonl"
    record_run(transcript, DEACTIVATE)
    assert len(users.DIRECTORY.deactivated) == 3
    users.reset()
    replayed = runner.invoke(app, ["replay", str(transcript)])
    assert replayed.exit_code == 0, replayed.output
    assert "recorded tool results" in replayed.output
    assert users.DIRECTORY.deactivated == []  # nothing was deactivated a second time
    live = runner.invoke(app, ["replay", str(transcript), "--live"])
    assert live.exit_code == 0, live.output
    assert "live tools" in live.output and len(users.DIRECTORY.deactivated) == 3


def test_replay_stops_a_snippet_whose_calls_differ_from_the_record(tmp_path: Path) -> None:
    transcript = tmp_path / "run.jsonl"
    record_run(transcript, DEACTIVATE)
    users.reset()
    def forge(turn: dict[str, Any]) -> None:
        first_deactivate = turn["tool_calls"][1]
        assert first_deactivate["tool"] == "deactivate"
        first_deactivate["arguments"] = "[[999999], {}]"

    edit_first_turn(transcript, forge)
    replayed = runner.invoke(app, ["replay", str(transcript)])
    assert replayed.exit_code == 1, replayed.output
    assert "diverged" in replayed.output and "999999" in replayed.output
    assert users.DIRECTORY.deactivated == []


def test_replay_of_a_transcript_without_tool_results_says_to_use_live(tmp_path: Path) -> None:
    transcript = tmp_path / "old.jsonl"
    record_run(transcript, DEACTIVATE)
    users.reset()
    def strip(turn: dict[str, Any]) -> None:
        for call in turn["tool_calls"]:  # as transcripts before tool results were kept
            del call["arguments"], call["reply"], call["status"]

    edit_first_turn(transcript, strip)
    replayed = runner.invoke(app, ["replay", str(transcript)])
    assert replayed.exit_code == 1
    assert "not replayed" in replayed.output and "--live" in replayed.output
    assert users.DIRECTORY.deactivated == []
    assert runner.invoke(app, ["replay", str(transcript), "--live"]).exit_code == 0


def test_runs_appended_to_one_transcript_are_replayed_apart(tmp_path: Path) -> None:
    transcript = tmp_path / "run.jsonl"
    record_run(transcript, [code("x = 41"), code("final_answer(x + 1)")], "first")
    record_run(transcript, [code("final_answer(x)"), code("final_answer(0)")], "second")
    kinds = [json.loads(line)["kind"] for line in transcript.read_text().splitlines()]
    assert kinds.count("run") == 2
    replayed = runner.invoke(app, ["replay", str(transcript)])
    # In one shared session the second run's `x` would exist and its first turn would pass.
    assert replayed.exit_code == 0, replayed.output
    assert "2 runs" in replayed.output and "failed P110" in replayed.output

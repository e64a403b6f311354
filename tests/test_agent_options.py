"""What shapes a CodeAct conversation: structured output, the worked example, which code
blocks run, and compaction of old observations. Each on both backends, over real HTTP to the
loopback server (Ollama's API and its OpenAI-compatible /v1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from benchmarks.ollama_llamacpp import LocalModel
from engine import Engine, load_tools
from engine.agent import (
    CodeActAgent,
    ExampleError,
    ExampleTurn,
    Model,
    OllamaModel,
    OpenAIModel,
    generated_example,
)
from engine.agent.extract import REPLY_SCHEMA
from engine.agent.ollama_backend import ollama_tool
from engine.agent.schemas import tool_definition
from engine.agent.transcript import RunHeader, TurnRecord, read_transcript
from engine.cli import app
from engine.testing.fake_ollama import DEFAULT_MODEL, FakeOllama
from engine.tools import ToolRegistry
from examples.toolsets import company, users

runner = CliRunner()


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with Engine(load_tools("examples.toolsets.users"), "default") as eng:
        yield eng


@pytest.fixture(autouse=True)
def fresh_directory() -> Iterator[None]:
    users.reset()
    yield
    users.reset()


@pytest.fixture(params=["ollama", "openai"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def connect(backend: str, url: str) -> Model:
    return (OllamaModel if backend == "ollama" else OpenAIModel)(DEFAULT_MODEL, host=url)


def reply(code: str, thought: str = "I count them in code.") -> str:
    return json.dumps({"thought": thought, "code": code})


def inactive() -> int:
    return sum(not u.active for u in users.DIRECTORY.users.values())


COUNT = "final_answer(len([u for u in get_all_users() if not u.active]))"


# -- structured output --------------------------------------------------------------------

def test_structured_output_sends_the_schema_and_runs_the_code(engine: Engine,
                                                               backend: str) -> None:
    with FakeOllama([reply(COUNT)]) as server:
        answer = CodeActAgent(engine, connect(backend, server.url), structured=True).run(
            "How many users are inactive?")
    assert (answer.value, answer.stop_reason) == (inactive(), "final_answer")
    [request] = server.chats
    assert request["format"] == REPLY_SCHEMA  # Ollama's format, or OpenAI's response_format
    assert 'Reply with only a JSON object: {"thought"' in request["messages"][0]["content"]
    if backend == "openai":
        [raw] = [r["body"] for r in server.requests if r["path"] == "/v1/chat/completions"]
        assert raw["response_format"]["type"] == "json_schema"
        assert raw["response_format"]["json_schema"]["schema"] == REPLY_SCHEMA


def test_a_reply_that_is_not_the_object_is_told_so(engine: Engine, backend: str) -> None:
    # a fence inside the JSON, and raw newlines in its strings, are tolerated
    raw = '{"thought": "count", "code": "```python\n' + COUNT + '\n```"}'
    script = ["```python\nfinal_answer(1)\n```", json.dumps({"thought": "x"}), raw]
    with FakeOllama(script) as server:
        answer = CodeActAgent(engine, connect(backend, server.url), structured=True).run("t")
    assert answer.value == inactive() and answer.turns == 3
    first, second = answer.transcript[:2]
    assert [d.code for d in first.extraction] == ["X103"] and first.code is None
    assert "the reply is not valid JSON" in first.extraction[0].message
    assert 'the reply has no "code" string' in second.extraction[0].message
    told = server.chats[1]["messages"][-1]["content"]
    assert told.startswith("[extract X103] line 1:1: the reply is not valid JSON")
    assert 'hint: Reply with only a JSON object: {"thought": "...", "code": "..."}' in told


def test_structured_observations_ask_for_json_not_a_code_block(engine: Engine,
                                                               backend: str) -> None:
    with FakeOllama([reply("x = 1 / 0"), reply(COUNT)]) as server:
        CodeActAgent(engine, connect(backend, server.url), structured=True).run("t")
    told = server.chats[1]["messages"][-1]["content"]
    assert "[runtime R101] line 1:5: ZeroDivisionError" in told
    assert told.endswith('reply with a new JSON object {"thought": ..., "code": ...}.')
    assert "code block" not in told


@pytest.mark.parametrize("feedback", ["plain", "none"])
def test_structured_output_with_terse_feedback(engine: Engine, feedback: str) -> None:
    with FakeOllama(["not json", reply(COUNT)]) as server:
        answer = CodeActAgent(engine, OllamaModel(DEFAULT_MODEL, host=server.url),
                              structured=True, feedback=feedback).run("t")  # type: ignore[arg-type]
    assert answer.value == inactive()
    told = server.chats[1]["messages"][-1]["content"]
    assert told.startswith("Reply with only a JSON object") and "X103" not in told


# -- the worked example -------------------------------------------------------------------

def test_generated_example_precedes_the_task(engine: Engine, backend: str) -> None:
    example = generated_example(engine)
    assert example.task == "How many items does get_all_users() return?"
    assert engine.check(example.code).ok
    for structured in (False, True):
        script = [reply(COUNT) if structured else f"```python\n{COUNT}\n```"]
        with FakeOllama(script) as server:
            answer = CodeActAgent(engine, connect(backend, server.url), example=example,
                                  structured=structured).run("How many are inactive?")
        assert answer.value == inactive()
        roles = [m["role"] for m in server.chats[0]["messages"]]
        assert roles == ["system", "user", "assistant", "user"]
        shown = server.chats[0]["messages"][2]["content"]
        if structured:
            assert json.loads(shown) == {"thought": example.thought, "code": example.code}
        else:
            assert shown.endswith("```python\n" + example.code + "```")
        assert server.chats[0]["messages"][3]["content"] == "Task: How many are inactive?"


def test_generated_example_for_other_toolsets() -> None:
    with Engine(company.TOOLS, "default") as eng:
        example = generated_example(eng)
    assert example.task == "How many items does list_companies() return?"

    def score(word: str, times: int = 2) -> int:
        """Scores a word."""
        return len(word) * times

    with Engine(ToolRegistry([score]), "default") as eng:
        example = generated_example(eng)
    assert example.code.startswith("result = score(word='example')")
    with Engine(ToolRegistry([]), "default") as eng:  # no tools: plain code
        assert generated_example(eng).code.endswith("final_answer(sum(numbers))\n")


def test_example_from_a_file_is_checked(engine: Engine, tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('task = "Count the users"\ncode = "final_answer(len(get_all_users()))"\n')
    assert ExampleTurn.from_file(good).checked(engine).thought == ""
    bad = tmp_path / "bad.toml"
    bad.write_text('task = "List files"\ncode = "import os\\nfinal_answer(os.listdir())"\n')
    with pytest.raises(ExampleError, match=r"does not pass the checks: line 1: \[P101\]"):
        CodeActAgent(engine, OllamaModel(DEFAULT_MODEL), example=ExampleTurn.from_file(bad))
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('task = "x"\nanswer = 3\n')
    with pytest.raises(ExampleError, match="code: Field required; answer: Extra inputs"):
        ExampleTurn.from_file(wrong)
    with pytest.raises(ExampleError, match="cannot read"):
        ExampleTurn.from_file(tmp_path / "missing.toml")


# -- which code blocks run ----------------------------------------------------------------

RAMBLING = (f"```python\n{COUNT}\n```\nThe output will be:\n```\nThe answer is 7.\n```\n"
            "Or, another way:\n```python\nfinal_answer(get_all_users().count)\n```")


def test_first_block_runs_and_junk_after_it_does_not(engine: Engine, backend: str) -> None:
    with FakeOllama([RAMBLING]) as server:
        answer = CodeActAgent(engine, connect(backend, server.url)).run("t")
    assert (answer.value, answer.turns) == (inactive(), 1)
    assert [d.code for d in answer.transcript[0].extraction] == ["X104"]
    assert "the 2 after it did not" in answer.transcript[0].extraction[0].message


def test_all_blocks_join_and_the_junk_breaks_the_code(engine: Engine) -> None:
    with FakeOllama([RAMBLING, f"```python\n{COUNT}\n```"]) as server:
        answer = CodeActAgent(engine, OllamaModel(DEFAULT_MODEL, host=server.url),
                              blocks="all").run("t")
    assert answer.turns == 2 and answer.transcript[0].ok is False
    assert [d.code for d in answer.transcript[0].diagnostics] == ["S001"]


def test_the_model_is_told_when_later_blocks_did_not_run(engine: Engine) -> None:
    two = "```python\nn = len(get_all_users())\n```\n```python\nprint(n)\n```"
    with FakeOllama([two, f"```python\n{COUNT}\n```"]) as server:
        CodeActAgent(engine, OllamaModel(DEFAULT_MODEL, host=server.url)).run("t")
    told = server.chats[1]["messages"][-1]["content"]
    assert told.startswith("[extract X104] line 1:1: only the first code block ran")
    assert "hint: Put all the code of a step in one code block." in told


# -- compaction -----------------------------------------------------------------------------

def test_old_observations_are_shortened_and_the_latest_kept(engine: Engine, backend: str,
                                                           tmp_path: Path) -> None:
    failing = [f"```python\nprint('try {i}')\nx = 1 / 0\n```" for i in range(3)]
    path = tmp_path / "run.jsonl"
    with FakeOllama([*failing, f"```python\n{COUNT}\n```"]) as server:
        answer = CodeActAgent(engine, connect(backend, server.url), keep_observations=1,
                              transcript=path).run("t")
    assert answer.value == inactive() and answer.turns == 4
    sent = [m["content"] for m in server.chats[3]["messages"] if m["role"] == "user"]
    assert sent[1:3] == [
        "[turn 1, shortened] Your code ran and failed (R101 line 2), 1 line(s) of output "
        "not shown.",
        "[turn 2, shortened] Your code ran and failed (R101 line 2), 1 line(s) of output "
        "not shown."]
    assert sent[3].startswith("Your code ran and failed.\n[runtime R101] line 2:5")
    assert "Output:\ntry 2" in sent[3]
    # the second request had nothing old enough to shorten; the transcript keeps it all
    assert not any("shortened" in str(m["content"]) for m in server.chats[1]["messages"])
    turns = [r for r in read_transcript(path) if isinstance(r, TurnRecord)]
    assert all("shortened" not in (t.observation or "") for t in turns)
    header = read_transcript(path)[0]
    assert isinstance(header, RunHeader) and header.keep_observations == 1
    expected_backend = "OllamaModel" if backend == "ollama" else "OpenAIModel"
    assert (header.backend, header.blocks, header.structured) == (expected_backend, "first",
                                                                  False)


def test_compaction_needs_at_least_the_latest(engine: Engine) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CodeActAgent(engine, OllamaModel(DEFAULT_MODEL), keep_observations=0)


# -- tool schemas -------------------------------------------------------------------------

def test_tool_definitions_are_neutral_and_ollama_gets_them_flat() -> None:
    [get_company] = [t for t in load_tools("examples.toolsets.company")
                     if t.name == "get_company"]
    [get_user] = [t for t in load_tools("examples.toolsets.users") if t.name == "get_user"]
    neutral = tool_definition(get_user)
    assert neutral.parameters["properties"]["user_id"] == {"type": "integer"}
    assert neutral.parameters["required"] == ["user_id"]

    def pick(kind: str | None, limit: int = 5) -> list[str]:
        """Pick things."""
        return []

    from engine.tools import Tool

    union = tool_definition(Tool(pick))
    assert union.parameters["properties"]["kind"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}]}
    assert union.parameters["properties"]["limit"] == {"default": 5, "type": "integer"}
    flat = ollama_tool(union)["function"]["parameters"]
    assert flat["properties"]["kind"] == {"type": ["string", "null"]}
    assert flat["required"] == ["kind"]
    assert ollama_tool(tool_definition(get_company))["function"]["name"] == "get_company"


# -- the command line and the llama.cpp shim -----------------------------------------------

def test_cli_structured_on_the_openai_backend(tmp_path: Path) -> None:
    transcript = tmp_path / "run.jsonl"
    with FakeOllama([reply(COUNT)]) as server:
        result = runner.invoke(app, [
            "agent", "How many users are inactive?", "--tools", "examples.toolsets.users",
            "--backend", "openai", "--host", server.url, "--structured", "--example-turn",
            "auto", "--keep-observations", "2", "--transcript", str(transcript)])
    assert result.exit_code == 0, result.output
    assert [r["path"] for r in server.requests] == ["/v1/chat/completions"]
    assert server.chats[0]["format"] == REPLY_SCHEMA
    answer = json.loads(transcript.read_text().splitlines()[-1])
    assert answer["value"] == inactive()
    header = json.loads(transcript.read_text().splitlines()[0])
    assert (header["backend"], header["structured"]) == ("OpenAIModel", True)
    assert header["example"]["task"] == "How many items does get_all_users() return?"


def test_cli_refuses_codeact_options_in_json_mode_and_a_bad_example(tmp_path: Path) -> None:
    result = runner.invoke(app, ["agent", "t", "--tools", "examples.toolsets.users",
                                 "--mode", "json", "--structured"])
    assert result.exit_code == 2 and "do not apply to --mode json" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text('task = "x"\ncode = "import os"\n')
    with FakeOllama([]) as server:
        result = runner.invoke(app, ["agent", "t", "--tools", "examples.toolsets.users",
                                     "--host", server.url, "--example-turn", str(bad)])
    assert result.exit_code == 2 and "does not pass the checks" in result.output
    assert server.chats == []  # nothing was sent to the model


class RecordingLlama:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def create_chat_completion(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        return {"choices": [{"message": {"content": reply("final_answer(3)")}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1}}


def test_the_shim_constrains_decoding_to_the_schema(engine: Engine, backend: str) -> None:
    llm = RecordingLlama()
    model = LocalModel(Path("unused.gguf"), 4096, None, "gemma", llm=llm)
    with FakeOllama(exhausted=model) as server:
        answer = CodeActAgent(engine, connect(backend, server.url), structured=True,
                              max_turns=1).run("t")
        CodeActAgent(engine, connect(backend, server.url), max_turns=1).run("t")
    assert answer.value == 3
    assert llm.calls[0]["response_format"] == {"type": "json_object", "schema": REPLY_SCHEMA}
    assert llm.calls[1]["response_format"] is None

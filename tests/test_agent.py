"""The agent loop against a real HTTP server on 127.0.0.1 that speaks the Ollama API and,
as Ollama does, the OpenAI-compatible one under /v1.

Every loop test runs on both backends: ``OllamaModel`` through the official `ollama` client
and ``OpenAIModel`` through the official `openai` client. The server answers from a script of
model replies and records every request, so the tests assert on what the model was sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, load_tools
from engine.agent import CodeActAgent, JsonToolAgent, Model, ModelError, OllamaModel, OpenAIModel
from engine.agent.replay import replay_transcript
from engine.agent.transcript import AnswerRecord, RunHeader, TurnRecord, read_transcript
from engine.testing.fake_ollama import DEFAULT_MODEL, FakeOllama, Reply
from examples.toolsets import users


@pytest.fixture(params=["ollama", "openai"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def connect(backend: str, url: str, **options: Any) -> Model:
    kind = OllamaModel if backend == "ollama" else OpenAIModel
    return kind(DEFAULT_MODEL, host=url, **options)


def fenced(code: str) -> str:
    return f"Here is my plan.\n```python\n{code}\n```\n"


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    eng = Engine(load_tools("examples.toolsets.users"), "default")
    eng.warm_up()
    yield eng
    eng.close()


@pytest.fixture(autouse=True)
def fresh_directory() -> Iterator[None]:
    users.reset()
    yield
    users.reset()


def inactive_count() -> int:
    return sum(not u.active for u in users.DIRECTORY.users.values())


def last_user_message(body: dict[str, Any]) -> str:
    return str([m for m in body["messages"] if m["role"] == "user"][-1]["content"])


SOLVE = fenced(
    "inactive = [u for u in get_all_users() if not u.active]\n"
    "for u in inactive:\n    deactivate(u.id)\n"
    "final_answer(len(inactive))"
)


def test_right_first_time(engine: Engine, backend: str) -> None:
    expected = inactive_count()
    with FakeOllama([SOLVE]) as server:
        agent = CodeActAgent(engine, connect(backend, server.url))
        answer = agent.run("Deactivate every inactive user and tell me how many there were")
    assert (answer.value, answer.stop_reason, answer.turns) == (expected, "final_answer", 1)
    assert len(users.DIRECTORY.deactivated) == expected
    [request] = server.chats
    system = request["messages"][0]["content"]
    assert "def get_all_users() -> list[User]:" in system  # the stubs, as Python
    assert "class Address(BaseModel):" in system
    assert "You may import only:" in system and "You cannot access the network." in system
    assert request["messages"][1]["content"].startswith("Task: Deactivate every inactive")
    assert answer.prompt_tokens > 0 and answer.completion_tokens > 0


def test_policy_violation_then_fix(engine: Engine, backend: str) -> None:
    script = [fenced("import os\nprint(os.listdir('/'))"), SOLVE]
    with FakeOllama(script) as server:
        answer = CodeActAgent(engine, connect(backend, server.url)).run("task")
    assert answer.stop_reason == "final_answer" and answer.turns == 2
    feedback = last_user_message(server.chats[1])
    assert "[policy P101] line 1:8: module `os` cannot be imported" in feedback
    assert "> import os" in feedback
    assert "hint: `os` is not allowed: the operating system is not available" in feedback
    assert answer.transcript[0].executed is False


def test_type_error_then_fix(engine: Engine, backend: str) -> None:
    script = [fenced("for u in get_all_users():\n    deactivate(u.name)"), SOLVE]
    with FakeOllama(script) as server:
        answer = CodeActAgent(engine, connect(backend, server.url)).run("task")
    assert answer.stop_reason == "final_answer"
    feedback = last_user_message(server.chats[1])
    assert "[types T101] line 2:16" in feedback and 'expected "int"' in feedback
    assert "hint: Pass a value of the type shown in the signature" in feedback


def test_runtime_exception_then_fix(engine: Engine, backend: str) -> None:
    script = [fenced("counts = {'US': 1}\nprint(counts['IL'])"), SOLVE]
    with FakeOllama(script) as server:
        answer = CodeActAgent(engine, connect(backend, server.url)).run("task")
    assert answer.stop_reason == "final_answer"
    feedback = last_user_message(server.chats[1])
    assert "Your code ran and failed." in feedback
    assert "[runtime R101] line 2:7: KeyError: 'IL'" in feedback
    assert "> print(counts['IL'])" in feedback


def test_state_carries_across_turns(engine: Engine, backend: str) -> None:
    script = [
        fenced("inactive = [u for u in get_all_users() if not u.active]\nprint(len(inactive))"),
        fenced("for u in inactive:\n    deactivate(u.id)\nfinal_answer(len(inactive))"),
    ]
    expected = inactive_count()
    with FakeOllama(script) as server:
        answer = CodeActAgent(engine, connect(backend, server.url)).run("task")
    assert answer.value == expected and answer.turns == 2
    feedback = last_user_message(server.chats[1])
    assert f"Output:\n{expected}" in feedback and "Continue with a new code block" in feedback


def test_model_that_never_produces_code(engine: Engine, backend: str) -> None:
    with FakeOllama([], exhausted="I think the users are probably fine.") as server:
        answer = CodeActAgent(engine, connect(backend, server.url),
                              max_turns=3).run("task")
    assert (answer.stop_reason, answer.turns, answer.value) == ("max_turns", 3, None)
    assert all(r.code is None and r.extraction[0].code == "X101" for r in answer.transcript)
    assert "[extract X101]" in last_user_message(server.chats[1])
    assert "```python code block" in last_user_message(server.chats[1])


def test_model_that_never_finishes(engine: Engine, backend: str) -> None:
    with FakeOllama([], exhausted=fenced("print('still working')")) as server:
        answer = CodeActAgent(engine, connect(backend, server.url),
                              max_turns=4).run("task")
    assert answer.stop_reason == "max_turns" and answer.turns == 4
    assert len(server.chats) == 4


def test_answer_in_prose_without_code(engine: Engine, backend: str) -> None:
    with FakeOllama(["I counted them already.\nFinal answer: 17"]) as server:
        answer = CodeActAgent(engine, connect(backend, server.url)).run("task")
    assert (answer.value, answer.stop_reason) == (17, "answered")


def test_server_down(engine: Engine) -> None:
    with FakeOllama() as server:
        url = server.url
    model = OllamaModel(DEFAULT_MODEL, host=url, timeout=5)
    with pytest.raises(ModelError) as info:
        model.chat([{"role": "user", "content": "hi"}])
    assert info.value.kind == "unreachable"
    assert "ollama serve" in str(info.value) and f"ollama pull {DEFAULT_MODEL}" in str(info.value)
    answer = CodeActAgent(engine, model).run("task")
    assert answer.stop_reason == "model_error" and "ollama serve" in (answer.error or "")


def test_openai_server_down(engine: Engine) -> None:
    with FakeOllama() as server:
        url = server.url
    model = OpenAIModel(DEFAULT_MODEL, host=url, timeout=5)
    with pytest.raises(ModelError) as info:
        model.chat([{"role": "user", "content": "hi"}])
    assert info.value.kind == "unreachable"
    assert f"no OpenAI-compatible server answers at {url}" in str(info.value)
    assert "llama-server" in str(info.value)
    answer = CodeActAgent(engine, model).run("task")
    assert answer.stop_reason == "model_error" and "llama-server" in (answer.error or "")


def test_model_not_pulled(engine: Engine) -> None:
    with FakeOllama(models=("llama3.2:1b",)) as server, pytest.raises(ModelError) as info:
        OllamaModel(DEFAULT_MODEL, host=server.url).chat([{"role": "user", "content": "x"}])
    assert info.value.kind == "model-not-found"
    assert f"ollama pull {DEFAULT_MODEL}" in str(info.value)


def test_openai_model_not_served() -> None:
    with FakeOllama(models=("llama3.2:1b",)) as server, pytest.raises(ModelError) as info:
        OpenAIModel(DEFAULT_MODEL, host=server.url + "/v1").chat(
            [{"role": "user", "content": "x"}])
    assert info.value.kind == "model-not-found"
    assert f"does not serve the model '{DEFAULT_MODEL}'" in str(info.value)
    assert "/v1/models" in str(info.value)


def test_slow_server_times_out(backend: str) -> None:
    with FakeOllama([SOLVE], delay=2.0) as server:
        model = connect(backend, server.url, timeout=0.5)
        with pytest.raises(ModelError) as info:
            model.chat([{"role": "user", "content": "x"}])
    assert info.value.kind == "timeout" and "0.5 s" in str(info.value)


@pytest.mark.parametrize("stream", [True, False])
def test_options_host_and_streaming(monkeypatch: pytest.MonkeyPatch, stream: bool) -> None:
    with FakeOllama(["hello there"]) as server:
        url = server.url
        monkeypatch.setenv("OLLAMA_HOST", url)
        model = OllamaModel(DEFAULT_MODEL, options={"temperature": 0.0, "seed": 7,
                                                    "num_ctx": 4096}, stream=stream)
        pieces: list[str] = []
        reply = model.chat([{"role": "user", "content": "hi"}], on_text=pieces.append)
    assert model.host == url
    assert reply.content == "hello there" and "".join(pieces) == "hello there"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert reply.usage.timings is not None and reply.usage.timings.total_ms > 0
    body = server.chats[0]
    assert body["options"] == {"temperature": 0.0, "seed": 7, "num_ctx": 4096}
    assert body["stream"] is stream


@pytest.mark.parametrize("stream", [True, False])
def test_openai_options_host_and_streaming(monkeypatch: pytest.MonkeyPatch,
                                           stream: bool) -> None:
    with FakeOllama(["hello there, a reply of several pieces"]) as server:
        url = server.url
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        model = OpenAIModel(DEFAULT_MODEL, stream=stream, options={
            "temperature": 0.0, "seed": 7, "num_predict": 64, "top_k": 20})
        pieces: list[str] = []
        reply = model.chat([{"role": "user", "content": "hi"}], on_text=pieces.append)
    assert model.host == url
    assert reply.content == "hello there, a reply of several pieces"
    assert "".join(pieces) == reply.content and (len(pieces) > 1) is stream
    # the OpenAI API reports token counts but not Ollama's timings
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert reply.usage.timings is None and reply.done_reason == "stop"
    [request] = [r for r in server.requests if r["path"] == "/v1/chat/completions"]
    body = request["body"]
    assert (body["temperature"], body["seed"], body["max_tokens"]) == (0.0, 7, 64)
    assert body["top_k"] == 20  # not an OpenAI field: passed through for the server
    assert body.get("stream", False) is stream


def test_openai_arguments_that_are_not_json(engine: Engine) -> None:
    """A server that passes on a model's broken arguments: the model is told, no tool runs."""

    def broken(body: dict[str, Any]) -> Reply:
        return Reply(tool_calls=(("deactivate", {}),))

    with FakeOllama([broken, "gave up"]) as server:
        model = OpenAIModel(DEFAULT_MODEL, host=server.url, stream=False)
        original = model._client.chat.completions.create

        def mangle(**request: Any) -> Any:
            response = original(**request)
            for call in response.choices[0].message.tool_calls or ():
                call.function.arguments = "{user_id: 3"
            return response

        model._client.chat.completions.create = mangle  # type: ignore[method-assign]
        answer = JsonToolAgent(engine, model).run("Deactivate user 3")
    assert answer.transcript[0].tool_calls[0].ok is False
    told = server.chats[1]["messages"][-1]
    assert told["content"] == ("Error: the arguments of deactivate were not a JSON object: "
                               "{user_id: 3")
    assert users.DIRECTORY.users[3].active is True


@pytest.mark.parametrize("mode", ["plain", "none"])
def test_feedback_modes(engine: Engine, backend: str, mode: str) -> None:
    script = [fenced("def ratio(a, b):\n    return a / b\nprint(ratio(1, 0))"), SOLVE]
    with FakeOllama(script) as server:
        CodeActAgent(engine, connect(backend, server.url),
                     feedback=mode).run("task")  # type: ignore[arg-type]
    feedback = last_user_message(server.chats[1])
    assert "R101" not in feedback and "hint" not in feedback
    if mode == "plain":
        assert feedback.startswith("Traceback (most recent call last):")
        assert "line 2, in ratio" in feedback and "ZeroDivisionError" in feedback
    else:
        assert feedback == "Your code did not work."


def test_plain_feedback_for_a_check_failure(engine: Engine, backend: str) -> None:
    with FakeOllama([fenced("import os"), SOLVE]) as server:
        CodeActAgent(engine, connect(backend, server.url),
                     feedback="plain").run("task")
    feedback = last_user_message(server.chats[1])
    assert feedback == ('  File "<snippet>", line 1\n    import os\n           ^\n'
                        "PolicyError: module `os` cannot be imported")


def test_output_is_truncated_in_feedback(engine: Engine, backend: str) -> None:
    script = [fenced("for i in range(3000):\n    print(i)"), SOLVE]
    with FakeOllama(script) as server:
        CodeActAgent(engine, connect(backend, server.url),
                     max_observation_chars=300).run("task")
    feedback = last_user_message(server.chats[1])
    assert "more characters not shown]" in feedback and len(feedback) < 600


def test_json_tool_calling_baseline(engine: Engine, backend: str) -> None:
    script = [
        Reply(tool_calls=(("get_user", {"user_id": 3}),)),
        Reply(tool_calls=(("deactivate", {"user_id": "three"}),)),
        Reply(tool_calls=(("deactivate", {"user_id": 3}),)),
        "Done: user 3 is deactivated.",
    ]
    with FakeOllama(script) as server:
        answer = JsonToolAgent(engine, connect(backend, server.url)).run(
            "Deactivate user 3")
    assert answer.stop_reason == "answered" and answer.turns == 4
    assert answer.value == "Done: user 3 is deactivated."
    assert users.DIRECTORY.users[3].active is False
    first = server.chats[0]
    names = [t["function"]["name"] for t in first["tools"]]
    assert names == ["get_all_users", "get_user", "deactivate", "activate", "send_email"]
    deactivate = first["tools"][2]["function"]["parameters"]
    assert deactivate["properties"]["user_id"]["type"] == "integer"
    assert deactivate["required"] == ["user_id"]
    assistant, tool_message = server.chats[1]["messages"][-2:]
    assert tool_message["role"] == "tool" and '"name":"Ben Silva"' in tool_message["content"]
    [call] = assistant["tool_calls"]
    if backend == "ollama":  # Ollama names the tool; OpenAI-compatible servers the call's id
        assert tool_message["tool_name"] == "get_user" and "id" not in call
        assert call["function"]["arguments"] == {"user_id": 3}
    else:
        assert tool_message["tool_call_id"] == call["id"] and call["id"].startswith("call_")
        assert json.loads(call["function"]["arguments"]) == {"user_id": 3}
    error = server.chats[2]["messages"][-1]["content"]
    assert error.startswith("Error: deactivate(): invalid argument user_id")
    assert [r.tool_calls[0].ok for r in answer.transcript[:3]] == [True, False, True]


def test_transcript_records_and_replays(engine: Engine, backend: str, tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    script = [fenced("import os"), fenced("n = len(get_all_users())\nprint(n)"),
              fenced("final_answer(n)")]
    with FakeOllama(script) as server:
        answer = CodeActAgent(engine, connect(backend, server.url),
                              transcript=path, tools_spec="examples.toolsets.users").run("count")
    lines = path.read_text().splitlines()
    assert [json.loads(line)["kind"] for line in lines] == ["run", "turn", "turn", "turn",
                                                            "answer"]
    records = read_transcript(path)
    header, *turns, final = records
    assert isinstance(header, RunHeader) and header.tools == "examples.toolsets.users"
    assert isinstance(final, AnswerRecord) and final.value == 10_000 == answer.value
    first = turns[0]
    assert isinstance(first, TurnRecord)
    assert first.code == "import os\n" and [d.code for d in first.diagnostics] == ["P101"]
    assert [s.status.value for s in first.stages] == ["passed", "failed", "skipped"]
    assert first.observation and "P101" in first.observation
    assert first.model_output.startswith("Here is my plan.")
    second = turns[1]
    assert isinstance(second, TurnRecord) and second.stdout == "10000\n"
    assert [c.tool for c in second.tool_calls] == ["get_all_users"]
    rows = replay_transcript(engine, records)
    assert [(r.turn, r.recorded, r.same) for r in rows] == [
        (1, "failed P101", True), (2, "ok", True), (3, "ok", True)]

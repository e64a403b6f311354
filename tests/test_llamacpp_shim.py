"""The llama.cpp shim behind the Ollama API: what the agent sends is what the model sees.

llama-cpp-python's "gemma" chat format drops system messages (logged at debug level only), so
the first gemma-3-270m figures were measured with a model that never saw the tools or the
rules (issue 16). The shim now puts the system text at the top of the first user turn, as
Gemma's own template does. Checked here end to end: the agent's request goes over real HTTP
to the shim's Ollama-API server, and a stand-in for llama.cpp records what it was given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.ollama_llamacpp import LocalModel, chat_messages
from engine import Engine
from engine.agent import CodeActAgent, OllamaModel
from engine.testing.fake_ollama import FakeOllama
from examples.toolsets import users


class RecordingLlama:
    """Answers like llama-cpp-python's create_chat_completion and keeps what it was sent."""

    def __init__(self) -> None:
        self.sent: list[list[dict[str, str]]] = []

    def create_chat_completion(self, *, messages: list[dict[str, str]],
                               **_: Any) -> dict[str, Any]:
        self.sent.append(messages)
        return {"choices": [{"message": {"content": "```python\nfinal_answer(1)\n```"}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1}}


def test_the_system_text_heads_the_first_user_turn() -> None:
    body = {"messages": [{"role": "system", "content": "RULES"},
                         {"role": "user", "content": "task"},
                         {"role": "assistant", "content": "code"},
                         {"role": "user", "content": "feedback"}],
            "tools": [{"function": {"name": "get_user", "parameters": {}}}]}
    turns = chat_messages(body)
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[0]["content"].startswith("RULES\n\nYou can call these tools")
    assert turns[0]["content"].endswith("task") and turns[2]["content"] == "feedback"
    with_role = chat_messages(body, system_role=True)
    assert with_role[0] == {"role": "system", "content": with_role[0]["content"]}
    assert with_role[1] == {"role": "user", "content": "task"}


def test_the_agents_system_prompt_reaches_the_model_over_http() -> None:
    llm = RecordingLlama()
    model = LocalModel(Path("unused.gguf"), 4096, None, "gemma", llm=llm)
    with FakeOllama(models=("gemma3:270m",), exhausted=model) as server, \
            Engine(users.TOOLS, "default") as engine:
        agent = CodeActAgent(engine, OllamaModel("gemma3:270m", host=server.url), max_turns=1)
        answer = agent.run("How many users are inactive?")
    assert answer.value == 1
    first = llm.sent[0]
    assert all(turn["role"] != "system" for turn in first)
    # the tools' stubs and the policy's rules are in what the model was given
    assert "def get_all_users" in first[0]["content"]
    assert "final_answer(value)" in first[0]["content"]
    assert first[0]["content"].rstrip().endswith("How many users are inactive?")

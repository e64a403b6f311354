"""A CodeAct agent end to end without a model server: the loopback Ollama API server answers
from a script, and the real `ollama` client talks to it. Run: python examples/agent_offline.py

Point OllamaModel at a real server (host="http://127.0.0.1:11434") to use a real model.
"""

from __future__ import annotations

from engine import Engine, load_tools
from engine.agent import CodeActAgent, OllamaModel
from engine.testing.fake_ollama import DEFAULT_MODEL, FakeOllama

SCRIPT = [
    "First, the inactive users.\n```python\nimport os\n```",  # refused: the model learns why
    "```python\ninactive = [u for u in get_all_users() if not u.active]\nprint(len(inactive))\n```",
    "```python\nfor u in inactive:\n    deactivate(u.id)\nfinal_answer(len(inactive))\n```",
]


def main() -> None:
    engine = Engine(load_tools("examples.toolsets.users"))
    try:
        with FakeOllama(SCRIPT) as server:
            agent = CodeActAgent(engine, OllamaModel(DEFAULT_MODEL, host=server.url))
            answer = agent.run("Deactivate every inactive user and tell me how many there were")
        for turn in answer.transcript:
            print(f"turn {turn.turn}: {'ok' if turn.ok else 'failed'} "
                  f"{[d.code for d in turn.diagnostics]}")
        print("answer:", answer.value, f"({answer.stop_reason}, {answer.turns} turns)")
        assert answer.stop_reason == "final_answer"
    finally:
        engine.close()


if __name__ == "__main__":
    main()

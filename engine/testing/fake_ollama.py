"""A real HTTP server on 127.0.0.1 that speaks the Ollama API and answers from a script.

For tests and the benchmark harness: the official ``ollama`` client talks to it exactly as it
would to ``ollama serve``, so the whole client path (HTTP, streaming, errors) is exercised
without a model. Every request body is recorded so a test can assert on what was sent.

    with FakeOllama(["```python\\nfinal_answer(42)\\n```"]) as server:
        model = OllamaModel("qwen2.5-coder:1.5b", host=server.url)

A script entry is the assistant's text, a ``Reply`` (text and/or tool calls), or a callable
that receives the request body and returns either; a callable as ``exhausted`` answers every
request, which is how ``benchmarks/ollama_llamacpp.py`` puts a real local model behind it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_MODEL = "qwen2.5-coder:1.5b"


@dataclass(frozen=True)
class Reply:
    content: str = ""
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    # What a real model reports; estimated from the text when not given.
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    seconds: float | None = None


ScriptItem = str | Reply | Callable[[dict[str, Any]], "str | Reply"]


@dataclass
class FakeOllama:
    """Serve ``script`` in order; when it runs out, answer ``exhausted`` forever."""

    script: Iterable[ScriptItem] = ()
    models: tuple[str, ...] = (DEFAULT_MODEL,)
    delay: float = 0.0  # seconds to wait before answering /api/chat (a slow server)
    exhausted: ScriptItem = "I have nothing more to say."
    requests: list[dict[str, Any]] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port

    def __post_init__(self) -> None:
        self._script = list(self.script)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the server is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def chats(self) -> list[dict[str, Any]]:
        """The bodies of /api/chat requests, in order."""
        return [r["body"] for r in self.requests if r["path"] == "/api/chat"]

    def load(self, script: Iterable[ScriptItem]) -> None:
        """Replace what is left of the script (one server can serve many runs)."""
        with self._lock:
            self._script = list(script)

    def next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            item = self._script.pop(0) if self._script else self.exhausted
        if callable(item):
            item = item(body)
        return item if isinstance(item, Reply) else Reply(content=str(item))

    def start(self) -> FakeOllama:
        self._server = ThreadingHTTPServer((self.host, self.port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(fake: FakeOllama) -> type[BaseHTTPRequestHandler]:
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

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            body: dict[str, Any] = json.loads(raw or b"{}")
            fake.requests.append({"path": self.path, "body": body})
            return body

        def do_GET(self) -> None:
            fake.requests.append({"path": self.path, "body": {}})
            if self.path == "/api/version":
                self._send(200, {"version": "0.12.6"})
            elif self.path == "/api/tags":
                self._send(200, {"models": [_model_entry(m) for m in fake.models]})
            else:
                self._send(404, {"error": f"no route {self.path}"})

        def do_POST(self) -> None:
            body = self._body()
            if self.path == "/api/show":
                name = body.get("model") or body.get("name")
                if name not in fake.models:
                    self._send(404, {"error": f"model '{name}' not found"})
                else:
                    self._send(200, {"modelfile": f"FROM {name}", "details": _details(),
                                     "capabilities": ["completion", "tools"]})
            elif self.path == "/api/chat":
                self._chat(body)
            else:
                self._send(404, {"error": f"no route {self.path}"})

        def _chat(self, body: dict[str, Any]) -> None:
            model = body.get("model", "")
            if model not in fake.models:
                self._send(404, {"error": f'model "{model}" not found, try pulling it first'})
                return
            if fake.delay:
                time.sleep(fake.delay)
            started = time.perf_counter()
            reply = fake.next_reply(body)
            prompt_tokens = reply.prompt_tokens if reply.prompt_tokens is not None else sum(
                len(str(m.get("content", ""))) // 4 + 4 for m in body.get("messages", []))
            eval_tokens = (reply.completion_tokens if reply.completion_tokens is not None
                           else max(1, len(reply.content) // 4))
            seconds = reply.seconds if reply.seconds is not None else (
                time.perf_counter() - started + 0.005 + eval_tokens * 0.0001)
            message: dict[str, Any] = {"role": "assistant", "content": reply.content}
            if reply.tool_calls:
                message["tool_calls"] = [{"function": {"name": n, "arguments": a}}
                                         for n, a in reply.tool_calls]
            final = {
                "model": model, "created_at": "2026-11-25T00:00:00Z", "done": True,
                "done_reason": "stop", "total_duration": int(seconds * 1e9),
                "load_duration": 1_000_000, "prompt_eval_count": prompt_tokens,
                "prompt_eval_duration": 2_000_000, "eval_count": eval_tokens,
                "eval_duration": int(seconds * 0.8e9),
            }
            if not body.get("stream", True):
                self._send(200, {**final, "message": message})
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            pieces = [reply.content[i:i + 16] for i in range(0, len(reply.content), 16)]
            for piece in pieces:
                self._chunk({"model": model, "created_at": final["created_at"], "done": False,
                             "message": {"role": "assistant", "content": piece}})
            last_message = {"role": "assistant", "content": ""}
            if reply.tool_calls:
                last_message["tool_calls"] = message["tool_calls"]
            self._chunk({**final, "message": last_message})
            self.wfile.write(b"0\r\n\r\n")

        def _chunk(self, payload: dict[str, Any]) -> None:
            line = json.dumps(payload).encode() + b"\n"
            self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")

    return Handler


def _details() -> dict[str, Any]:
    return {"format": "gguf", "family": "qwen2", "parameter_size": "1.5B",
            "quantization_level": "Q4_K_M"}


def _model_entry(name: str) -> dict[str, Any]:
    return {"name": name, "model": name, "modified_at": "2026-11-01T00:00:00Z",
            "size": 986_000_000, "digest": "0" * 64, "details": _details()}

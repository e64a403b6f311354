"""A real HTTP server on 127.0.0.1 that speaks the Ollama API and answers from a script.

For tests and the benchmark harness: the official ``ollama`` client talks to it exactly as it
would to ``ollama serve``, so the whole client path (HTTP, streaming, errors) is exercised
without a model. Like Ollama it also serves the OpenAI-compatible chat API under ``/v1``
(``/v1/chat/completions``, ``/v1/models``), which the official ``openai`` client uses, so the
``OpenAIModel`` backend is tested the same way. Every request body is recorded so a test can
assert on what was sent; ``chats`` gives each chat request in Ollama's shape, whichever API
it came through.

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
import uuid
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
        """The chat requests, in order, in Ollama's shape (``/v1`` ones converted)."""
        return [r["body"] if r["path"] == "/api/chat" else ollama_shaped(r["body"])
                for r in self.requests if r["path"] in ("/api/chat", "/v1/chat/completions")]

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
            elif self.path == "/v1/models":
                self._send(200, {"object": "list", "data": [
                    {"id": m, "object": "model", "created": 0, "owned_by": "library"}
                    for m in fake.models]})
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
            elif self.path == "/v1/chat/completions":
                self._openai_chat(body)
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
            prompt_tokens = _prompt_tokens(reply, body)
            eval_tokens = _completion_tokens(reply)
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
            self._raw_chunk(line)

        def _raw_chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

        def _openai_chat(self, body: dict[str, Any]) -> None:
            """OpenAI's chat completions, as Ollama's ``/v1`` (and llama-server, vLLM)
            answer them: JSON, or server-sent events when ``stream`` is true."""
            model = body.get("model", "")
            if model not in fake.models:
                self._send(404, {"error": {"message": f"model '{model}' not found",
                                           "type": "invalid_request_error",
                                           "code": "model_not_found"}})
                return
            if fake.delay:
                time.sleep(fake.delay)
            request = ollama_shaped(body)
            reply = fake.next_reply(request)
            usage = {"prompt_tokens": _prompt_tokens(reply, request),
                     "completion_tokens": _completion_tokens(reply)}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            calls: list[dict[str, Any]] = [
                {"id": f"call_{uuid.uuid4().hex[:8]}", "type": "function",
                 "function": {"name": n, "arguments": json.dumps(a)}}
                for n, a in reply.tool_calls]
            finish = "tool_calls" if calls else "stop"
            head = {"id": f"chatcmpl-{uuid.uuid4().hex[:8]}", "created": 1764547200,
                    "model": model, "system_fingerprint": "fp_fake"}
            if not body.get("stream"):
                message: dict[str, Any] = {"role": "assistant", "content": reply.content}
                if calls:
                    message["tool_calls"] = calls
                self._send(200, {**head, "object": "chat.completion", "usage": usage,
                                 "choices": [{"index": 0, "message": message,
                                              "finish_reason": finish}]})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = {**head, "object": "chat.completion.chunk"}

            def event(delta: dict[str, Any], reason: str | None = None) -> None:
                payload = {**chunk, "choices": [{"index": 0, "delta": delta,
                                                 "finish_reason": reason}]}
                self._raw_chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

            event({"role": "assistant", "content": ""})
            for i in range(0, len(reply.content), 16):
                event({"content": reply.content[i:i + 16]})
            for index, call in enumerate(calls):  # name first, arguments in two pieces
                arguments = call["function"]["arguments"]
                half = len(arguments) // 2
                event({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                       "function": {"name": call["function"]["name"],
                                                    "arguments": arguments[:half]}}]})
                event({"tool_calls": [{"index": index,
                                       "function": {"arguments": arguments[half:]}}]})
            event({}, finish)
            if (body.get("stream_options") or {}).get("include_usage"):
                self._raw_chunk(b"data: " + json.dumps(
                    {**chunk, "choices": [], "usage": usage}).encode() + b"\n\n")
            self._raw_chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")

    return Handler


def _prompt_tokens(reply: Reply, body: dict[str, Any]) -> int:
    if reply.prompt_tokens is not None:
        return reply.prompt_tokens
    return sum(len(str(m.get("content", ""))) // 4 + 4 for m in body.get("messages", []))


def _completion_tokens(reply: Reply) -> int:
    if reply.completion_tokens is not None:
        return reply.completion_tokens
    return max(1, len(reply.content) // 4)


#: OpenAI sampling fields and the Ollama options they are.
_OPTIONS = {"temperature": "temperature", "seed": "seed", "top_p": "top_p",
            "max_tokens": "num_predict", "top_k": "top_k"}


def ollama_shaped(body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI chat request as the Ollama request it amounts to, so that one script (or
    one local model behind ``benchmarks/ollama_llamacpp.py``) answers both APIs. Tool calls
    in the history keep their JSON-text arguments; a ``json_schema`` response format
    becomes ``format``."""
    shaped: dict[str, Any] = {"model": body.get("model"), "messages": body.get("messages", []),
                              "stream": bool(body.get("stream"))}
    if body.get("tools"):
        shaped["tools"] = body["tools"]
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        shaped["format"] = (response_format.get("json_schema") or {}).get("schema")
    elif response_format.get("type") == "json_object":
        shaped["format"] = "json"
    options = {ours: body[theirs] for theirs, ours in _OPTIONS.items() if theirs in body}
    if options:
        shaped["options"] = options
    return shaped


def _details() -> dict[str, Any]:
    return {"format": "gguf", "family": "qwen2", "parameter_size": "1.5B",
            "quantization_level": "Q4_K_M"}


def _model_entry(name: str) -> dict[str, Any]:
    return {"name": name, "model": name, "modified_at": "2026-11-01T00:00:00Z",
            "size": 986_000_000, "digest": "0" * 64, "details": _details()}

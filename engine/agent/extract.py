"""Find the code in what a model replied, tolerating what real models emit.

Handled: fenced blocks with or without a language tag (``` or ~~~), several blocks, prose
around them, a fence the model never closed, REPL prompts (``>>>``), a bare snippet with no
fence, and an answer given in prose with no code at all.

Of several blocks, only the first runs by default (``blocks="first"``; the others are named in
an X104 note): a model that writes good code and then rambles on (a guessed output, a second
attempt) lets the junk break the good code when blocks are joined. ``blocks="all"`` joins them
in order, for models that split one step over several blocks. The choice was measured on the
task suite (benchmarks/RESULTS.md).

With structured output the reply is a JSON object ``{"thought": ..., "code": ...}`` instead
(``extract_structured``).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from typing import Literal

from engine import codes
from engine.diagnostics import Diagnostic, Severity

_FENCE = re.compile(
    r"^[ \t]*(?P<fence>```+|~~~+)[ \t]*(?P<tag>[\w+#.-]*)[^\n]*\n(?P<body>.*?)"
    r"(?:^[ \t]*(?P=fence)[ \t]*$|\Z)",
    re.M | re.S,
)
_NOT_PYTHON = {"bash", "sh", "shell", "console", "json", "text", "txt", "output", "yaml",
               "toml", "sql", "html", "markdown", "md", "plaintext", "javascript", "js"}
_FINAL_PROSE = re.compile(r"^\W*final\s+answer\s*[:=-]\s*(?P<answer>.+?)\s*$", re.I | re.M)
_PROMPT = re.compile(r"^(>>>|\.\.\.)( |$)")

BlockChoice = Literal["first", "all"]

#: The JSON schema of a structured reply (``CodeActAgent(structured=True)``).
REPLY_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {"thought": {"type": "string"}, "code": {"type": "string"}},
    "required": ["thought", "code"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Extraction:
    """The code to run, or an answer given without code, and what was odd about the reply."""

    code: str | None
    final_text: str | None = None
    diagnostics: tuple[Diagnostic, ...] = ()
    blocks: int = 0


def extract_code(reply: str, blocks_from: BlockChoice = "first") -> Extraction:
    notes: list[Diagnostic] = []
    blocks: list[str] = []
    for match in _FENCE.finditer(reply):
        tag = match["tag"].lower()
        body = match["body"]
        closed = match.group(0).rstrip().endswith(match["fence"])
        if not closed:
            notes.append(_note(reply, "X102", "the code block was not closed; the code up to "
                               "the end of the reply was used", Severity.WARNING))
        if tag in _NOT_PYTHON:
            continue
        if tag and tag not in ("python", "py", "python3", "py3") and not _parses(body):
            continue  # an unknown tag on something that is not Python either
        blocks.append(_strip_prompts(body).strip("\n"))
    blocks = [b for b in blocks if b.strip()]
    if len(blocks) > 1 and blocks_from == "first":
        notes.append(_note(reply, "X104", f"only the first code block ran; the {len(blocks) - 1} "
                           "after it did not", Severity.WARNING))
        return Extraction(blocks[0] + "\n", None, tuple(notes), len(blocks))
    if blocks:
        return Extraction("\n\n".join(blocks) + "\n", None, tuple(notes), len(blocks))
    bare = reply.strip()
    if bare and _looks_like_code(_strip_prompts(bare)):
        return Extraction(_strip_prompts(bare) + "\n", None, tuple(notes), 0)
    calls = [line.strip() for line in reply.splitlines()
             if "final_answer(" in line and _parses(line.strip())]
    if calls:
        return Extraction(calls[-1] + "\n", None, tuple(notes), 0)
    prose = _FINAL_PROSE.findall(reply)
    if prose:
        answer = re.sub(r"^[\s`*_]+|[\s`*_]+$", "", prose[-1])
        return Extraction(None, answer, tuple(notes), 0)
    notes.append(codes.diagnostic("X101", "no Python code was found in the reply",
                                  source=reply))
    return Extraction(None, None, tuple(notes), 0)


def extract_structured(reply: str) -> Extraction:
    """The code of a structured reply; X103 when the reply is not the object asked for.

    The code is taken as it is, except for a fence around it (models trained on Markdown put
    one there even inside JSON). Raw newlines and tabs inside the strings are accepted: models
    write code that way, and some servers' schema grammars let them (llama-cpp-python's
    does)."""
    try:
        data = json.loads(reply, strict=False)
    except json.JSONDecodeError as exc:
        return _unstructured(reply, f"the reply is not valid JSON ({exc.msg} at line "
                                    f"{exc.lineno}, column {exc.colno})")
    if not isinstance(data, dict):
        return _unstructured(reply, f"the reply is a JSON {type(data).__name__}, not an object "
                                    'with "thought" and "code"')
    code = data.get("code")
    if not isinstance(code, str):
        return _unstructured(reply, 'the reply has no "code" string' if code is None else
                             f'"code" is a JSON {type(code).__name__}, not a string')
    fenced = _FENCE.fullmatch(code.strip())
    if fenced is not None:
        code = fenced["body"]
    code = _strip_prompts(code).strip("\n")
    if not code.strip():
        return _unstructured(reply, '"code" is empty: there was nothing to run')
    return Extraction(code + "\n", None, (), 1)


def _unstructured(reply: str, message: str) -> Extraction:
    return Extraction(None, None, (_note(reply, "X103", message, Severity.ERROR),), 0)


def _note(reply: str, code: codes.CodeName, message: str, severity: Severity) -> Diagnostic:
    return codes.diagnostic(code, message, source=reply, severity=severity)


def _strip_prompts(code: str) -> str:
    lines = code.splitlines()
    prompted = [line for line in lines if line.strip()]
    if prompted and all(_PROMPT.match(line) for line in prompted):
        return "\n".join(_PROMPT.sub("", line) for line in lines)
    return code


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _looks_like_code(text: str) -> bool:
    """Python that does something: prose rarely parses, and a bare value is an answer."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return any(isinstance(node, (ast.Call, ast.Assign, ast.AugAssign, ast.For, ast.While,
                                 ast.If, ast.Import, ast.ImportFrom, ast.FunctionDef))
               for node in ast.walk(tree))

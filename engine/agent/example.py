"""A worked example for the CodeAct prompt: one task and a reply that solves it, given to the
model as a user/assistant turn pair before the real task.

Small models follow a demonstrated reply shape far better than a described one (measured on
gemma-3-270m: with the pair, every snippet passed every check; without, none did). The pair is
either generated from the toolset (a call of the first tool whose arguments can be written as
literals) or supplied by the user as a TOML file with ``task``, ``code`` and an optional
``thought``. Either way the code must pass the engine's checks before a model sees it: an
example that teaches a refused snippet would be worse than none. It is checked, never run
(tools may have effects).
"""

from __future__ import annotations

import json
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from engine.agent.schemas import tool_definition
from engine.diagnostics import Severity
from engine.errors import EngineError

if TYPE_CHECKING:
    from engine.pipeline import Engine
    from engine.tools import Tool

_FALLBACK_CODE = "numbers = [3, 1, 2]\nprint(sorted(numbers))\nfinal_answer(sum(numbers))\n"


class ExampleError(EngineError):
    """The example cannot be used: unreadable, or its code does not pass the checks."""


class ExampleTurn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    task: str
    code: str
    thought: str = ""

    @classmethod
    def from_file(cls, path: str | Path) -> ExampleTurn:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
            return cls.model_validate(data)
        except OSError as exc:
            raise ExampleError(f"cannot read the example turn {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ExampleError(f"{path} is not TOML: {exc}") from None
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}"
                                 for e in exc.errors())
            raise ExampleError(f"{path} is not an example turn (task, code, thought): "
                               f"{problems}") from None

    def reply(self, structured: bool) -> str:
        """The assistant's side, in the shape the model is asked to reply in."""
        code = self.code.rstrip("\n") + "\n"
        if structured:
            return json.dumps({"thought": self.thought, "code": code}, ensure_ascii=False)
        thought = self.thought + "\n" if self.thought else ""
        return f"{thought}```python\n{code}```"

    def checked(self, engine: Engine) -> ExampleTurn:
        """Itself, once its code passes ``engine``'s checks; else ``ExampleError``."""
        report = engine.check(self.code)
        if not report.ok:
            errors = "; ".join(f"line {d.line}: [{d.code}] {d.message}"
                               for d in report.diagnostics if d.severity is Severity.ERROR)
            raise ExampleError(f"the example's code does not pass the checks: {errors}")
        return self


def generated_example(engine: Engine) -> ExampleTurn:
    """An example built from the toolset. It shows the paradigm, not an answer to copy: a
    tool that returns a list is called and its items counted in code (the answer is the
    count, not the list); failing that, a tool that returns a plain value gives it as the
    answer. Tools whose required arguments cannot be written as literals are passed over."""
    candidates = [(tool, _call_of(tool)) for tool in engine.registry]
    for tool, call in candidates:  # lists first: aggregation in code is what CodeAct adds
        if call is not None and typing.get_origin(tool.return_type) in (list, tuple):
            example = ExampleTurn(
                task=f"How many items does {call} return?",
                thought=f"I call {tool.name} once and count the items in code.",
                code=f"items = {call}\nprint(len(items))\nfinal_answer(len(items))\n")
            if engine.check(example.code).ok:
                return example
    for tool, call in candidates:
        if call is not None and tool.return_type in (int, float, str, bool):
            example = ExampleTurn(
                task=f"What does {call} return?",
                thought=f"I call {tool.name} once, print the result and give it as the "
                        "answer.",
                code=f"result = {call}\nprint(result)\nfinal_answer(result)\n")
            if engine.check(example.code).ok:
                return example
    return ExampleTurn(task="What is the sum of 3, 1 and 2?",
                       thought="I add the numbers in code and give the sum as the answer.",
                       code=_FALLBACK_CODE).checked(engine)


def _call_of(tool: Tool) -> str | None:
    """A call of ``tool`` with literal arguments for its required parameters, or None."""
    definition = tool_definition(tool)
    properties: Mapping[str, Any] = definition.parameters.get("properties", {})
    arguments: list[str] = []
    for name in definition.parameters.get("required", []):
        value = _literal(properties.get(name, {}))
        if value is None:
            return None
        arguments.append(f"{name}={value}")
    return f"{tool.name}({', '.join(arguments)})"


def _literal(schema: Mapping[str, Any]) -> str | None:
    """Python source for a plausible value of ``schema``, or None when there is none simple."""
    if schema.get("enum"):
        return repr(schema["enum"][0])
    kind = schema.get("type")
    if "anyOf" in schema:
        for variant in schema["anyOf"]:
            if variant.get("type") != "null":
                found = _literal(variant)
                if found is not None:
                    return found
        return None
    if "default" in schema:
        return repr(schema["default"])
    if kind == "string":
        return repr("example") if schema.get("format") is None else None
    if kind == "integer":
        return str(max(1, int(schema.get("minimum", 1))))
    if kind == "number":
        return "1.0"
    if kind == "boolean":
        return "True"
    if kind == "array":
        return "[]"
    return None

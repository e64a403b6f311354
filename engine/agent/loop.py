"""The CodeAct loop: the model writes a snippet, the engine checks and runs it, the model sees
the outcome and revises, until it calls ``final_answer``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from engine.agent.example import ExampleTurn
from engine.agent.extract import (
    REPLY_SCHEMA,
    BlockChoice,
    Extraction,
    extract_code,
    extract_structured,
)
from engine.agent.feedback import (
    FeedbackMode,
    compact_observation,
    no_code_observation,
    observation,
)
from engine.agent.model import Model, ModelError, ModelReply, ToolDefinition
from engine.agent.templates import render
from engine.agent.transcript import AnswerRecord, RunHeader, TranscriptWriter, TurnRecord
from engine.policy.prompt import render_prompt_rules

if TYPE_CHECKING:
    from engine.pipeline import Engine

StopReason = Literal["final_answer", "answered", "max_turns", "model_error"]


@dataclass
class AgentAnswer:
    """The outcome of ``agent.run(task)``."""

    value: Any
    stop_reason: StopReason
    turns: int
    transcript: list[TurnRecord] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_ms: float = 0.0
    error: str | None = None


@dataclass
class Hooks:
    """Optional callbacks, for showing a run live."""

    on_text: Callable[[str], None] | None = None  # model output as it streams
    on_turn_start: Callable[[int], None] | None = None
    on_turn: Callable[[TurnRecord], None] | None = None


def parse_answer(text: str) -> Any:
    """An answer given as text: JSON when it parses as JSON (42, [1, 2]), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


class Agent:
    """What both agents share: the budget, the transcript, the bookkeeping of a run."""

    mode: Literal["codeact", "json"]

    def __init__(self, engine: Engine, model: Model, *, max_turns: int = 10,
                 feedback: FeedbackMode = "structured", max_observation_chars: int = 2000,
                 transcript: Any = None, tools_spec: str = "", hooks: Hooks | None = None) -> None:
        self.engine = engine
        self.model = model
        self.max_turns = max_turns
        self.feedback: FeedbackMode = feedback
        self.max_observation_chars = max_observation_chars
        self.transcript_target = transcript
        self.tools_spec = tools_spec
        self.hooks = hooks or Hooks()

    def _header(self, task: str) -> RunHeader:
        import engine as package

        return RunHeader(task=task, mode=self.mode, model=self.model.name,
                         backend=type(self.model).__name__,
                         host=getattr(self.model, "host", None), tools=self.tools_spec,
                         policy=self.engine.policy.name,
                         policy_digest=self.engine.policy.digest, feedback=self.feedback,
                         engine_version=package.__version__,
                         started=time.strftime("%Y-%m-%dT%H:%M:%S%z"), **self._settings())

    def _settings(self) -> dict[str, Any]:
        """What else a transcript needs to say how its prompts were made."""
        return {}

    def _chat(self, messages: list[dict[str, Any]], tools: list[ToolDefinition] | None = None,
              response_format: dict[str, Any] | None = None) -> tuple[ModelReply, float]:
        started = time.perf_counter()
        reply = self.model.chat(messages, tools, response_format=response_format,
                                on_text=self.hooks.on_text)
        return reply, (time.perf_counter() - started) * 1000

    @staticmethod
    def _turn(turn: int, reply: ModelReply, model_ms: float, **fields: Any) -> TurnRecord:
        timings = reply.usage.timings
        return TurnRecord(
            turn=turn, model_output=reply.content, model_ms=round(model_ms, 3),
            prompt_tokens=reply.usage.prompt_tokens,
            completion_tokens=reply.usage.completion_tokens,
            model_load_ms=timings.load_ms if timings else 0.0,
            model_eval_ms=timings.eval_ms if timings else 0.0, **fields)

    def run(self, task: str) -> AgentAnswer:
        writer = TranscriptWriter(self.transcript_target) if self.transcript_target else None
        started = time.perf_counter()
        records: list[TurnRecord] = []
        try:
            if writer is not None:
                writer.write(self._header(task))
            answer = self._loop(task, records, writer)
            answer.transcript = records
            answer.turns = len(records)
            answer.prompt_tokens = sum(r.prompt_tokens for r in records)
            answer.completion_tokens = sum(r.completion_tokens for r in records)
            answer.wall_ms = (time.perf_counter() - started) * 1000
            if writer is not None:
                writer.write(AnswerRecord(
                    value=answer.value, stop_reason=answer.stop_reason, turns=answer.turns,
                    prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens,
                    wall_ms=round(answer.wall_ms, 3), error=answer.error))
            return answer
        finally:
            if writer is not None:
                writer.close()

    def _record(self, record: TurnRecord, records: list[TurnRecord],
                writer: TranscriptWriter | None) -> None:
        records.append(record)
        if writer is not None:
            writer.write(record)
        if self.hooks.on_turn is not None:
            self.hooks.on_turn(record)

    def _loop(self, task: str, records: list[TurnRecord],
              writer: TranscriptWriter | None) -> AgentAnswer:
        raise NotImplementedError


class CodeActAgent(Agent):
    """The model acts by writing Python; every snippet goes through the engine's pipeline.

    Options that shape what the model sees (each measured in benchmarks/RESULTS.md):

    * ``structured``: the model replies with a JSON object ``{"thought", "code"}`` and the
      request carries its schema, so servers that constrain decoding (Ollama's ``format``,
      ``response_format`` of OpenAI-compatible servers) cannot return anything else;
    * ``example``: a worked task and reply, shown as a user/assistant turn pair before the
      task (``generated_example(engine)`` builds one from the tools);
    * ``blocks``: of several code blocks in a reply, run the first (default) or all joined;
    * ``keep_observations``: send only the latest N observations in full and older ones
      shortened to their verdict and codes, so long runs fit a small context.
    """

    mode = "codeact"

    def __init__(self, engine: Engine, model: Model, *, structured: bool = False,
                 example: ExampleTurn | None = None, blocks: BlockChoice = "first",
                 keep_observations: int | None = None, **options: Any) -> None:
        super().__init__(engine, model, **options)
        if keep_observations is not None and keep_observations < 1:
            raise ValueError("keep_observations must be at least 1 (the latest observation "
                             "is always sent in full)")
        self.structured = structured
        self.example = example.checked(engine) if example is not None else None
        self.blocks: BlockChoice = blocks
        self.keep_observations = keep_observations

    def _settings(self) -> dict[str, Any]:
        return {"structured": self.structured, "example": self.example,
                "blocks": self.blocks, "keep_observations": self.keep_observations}

    def system_prompt(self) -> str:
        return render("codeact_system_structured" if self.structured else "codeact_system",
                      rules=render_prompt_rules(self.engine.policy),
                      tools=self.engine.prompt_view.strip())

    def opening(self, task: str) -> list[dict[str, Any]]:
        """The messages before the first reply: the system prompt, the example, the task."""
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system_prompt()}]
        if self.example is not None:
            messages += [{"role": "user", "content": render("task", task=self.example.task)},
                         {"role": "assistant", "content": self.example.reply(self.structured)}]
        messages.append({"role": "user", "content": render("task", task=task)})
        return messages

    def _extract(self, text: str) -> Extraction:
        return extract_structured(text) if self.structured else extract_code(text, self.blocks)

    def _observe(self, text: str, ok: bool) -> str:
        """``text`` and what to do next, in the reply shape asked for (``observation`` ends
        with the request for a code block otherwise)."""
        if not self.structured or self.feedback != "structured":
            return text
        return text + "\n" + render("structured_output.next" if ok else "structured_output.again")

    def _loop(self, task: str, records: list[TurnRecord],
              writer: TranscriptWriter | None) -> AgentAnswer:
        messages = self.opening(task)
        compacted: list[tuple[int, str]] = []  # (index in messages, its short form)
        response_format = REPLY_SCHEMA if self.structured else None
        with self.engine.session() as session:
            for turn in range(1, self.max_turns + 1):
                if self.hooks.on_turn_start:
                    self.hooks.on_turn_start(turn)
                try:
                    reply, model_ms = self._chat(self._compacted(messages, compacted),
                                                 response_format=response_format)
                except ModelError as exc:
                    self._record(TurnRecord(turn=turn, error=str(exc)), records, writer)
                    return AgentAnswer(None, "model_error", turn, error=str(exc))
                messages.append({"role": "assistant", "content": reply.content})
                record = self._turn(turn, reply, model_ms)
                extraction = self._extract(reply.content)
                record.extraction = list(extraction.diagnostics)
                if extraction.code is None:
                    if extraction.final_text is not None:
                        record.value = parse_answer(extraction.final_text)
                        record.final = True
                        self._record(record, records, writer)
                        return AgentAnswer(record.value, "answered", turn)
                    record.observation = no_code_observation(
                        extraction.diagnostics, self.feedback, structured=self.structured)
                    messages.append({"role": "user", "content": record.observation})
                    self._record(record, records, writer)
                    continue
                record.code = extraction.code
                run_started = time.perf_counter()
                result = session.run(extraction.code)
                record.run_ms = round((time.perf_counter() - run_started) * 1000, 3)
                record.stages = list(result.check.stages) if result.check else []
                record.diagnostics = list(result.diagnostics)
                record.tool_calls = list(result.tool_calls)
                record.executed, record.ok = result.executed, result.ok
                record.stdout, record.value = result.stdout, result.value
                record.final = result.final
                if result.ok and result.final:
                    self._record(record, records, writer)
                    return AgentAnswer(result.value, "final_answer", turn)
                record.observation = self._observe(observation(
                    result, self.feedback, self.max_observation_chars,
                    closing=not self.structured, notes=extraction.diagnostics), result.ok)
                compacted.append((len(messages), compact_observation(turn, result)))
                messages.append({"role": "user", "content": record.observation})
                self._record(record, records, writer)
        return AgentAnswer(None, "max_turns", self.max_turns)

    def _compacted(self, messages: list[dict[str, Any]],
                   compacted: list[tuple[int, str]]) -> list[dict[str, Any]]:
        """``messages`` with all but the latest ``keep_observations`` observations
        shortened; the full history stays in the transcript."""
        if self.keep_observations is None or len(compacted) <= self.keep_observations:
            return messages
        short = dict(compacted[:-self.keep_observations])
        return [{**m, "content": short[i]} if i in short else m
                for i, m in enumerate(messages)]

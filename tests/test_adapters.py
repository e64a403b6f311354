"""The adapters with the real libraries: a smolagents CodeAgent and a langgraph-codeact graph,
each driven by a scripted model, no network."""

from __future__ import annotations

import asyncio
import re
import warnings
from typing import Any

import pytest

pytest.importorskip("smolagents")
pytest.importorskip("langgraph_codeact")

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool as lc_tool
from langgraph.checkpoint.memory import MemorySaver
from langgraph_codeact import create_codeact
from smolagents import CodeAgent, Tool
from smolagents import tool as smol_tool
from smolagents.models import ChatMessage, MessageRole, Model

from engine.adapters.langgraph import CodeActEval
from engine.adapters.smolagents import CodeActExecutor, SandboxedCodeAgent, engine_tool
from engine.errors import PolicyError
from engine.policy.model import Policy

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*allowed_objects.*"),
    pytest.mark.filterwarnings("ignore:Function 'get_user_ids' has decorators"),
]

CALLS: list[int] = []


class ScriptedModel(Model):  # type: ignore[misc]
    """A smolagents model that answers from a script and keeps what it was sent."""

    def __init__(self, replies: list[str]) -> None:
        super().__init__(model_id="scripted")
        self.replies = list(replies)
        self.seen: list[Any] = []

    def generate(self, messages: Any, stop_sequences: Any = None, response_format: Any = None,
                 tools_to_call_from: Any = None, **kwargs: Any) -> ChatMessage:
        self.seen.append(messages)
        return ChatMessage(role=MessageRole.ASSISTANT, content=self.replies.pop(0))


@smol_tool
def get_user_ids() -> list:  # type: ignore[type-arg]
    """Return all user ids."""
    return [1, 2, 3]


class Double(Tool):  # type: ignore[misc]
    name = "double"
    description = "Double an integer."
    inputs = {"x": {"type": "integer", "description": "the number"}}
    output_type = "integer"

    def forward(self, x: int) -> int:
        CALLS.append(x)
        return 2 * x


def test_smolagents_tools_become_typed_engine_tools() -> None:
    converted = engine_tool(Double())
    assert [(p.name, p.annotation) for p in converted.params] == [("x", int)]
    assert converted.return_type is int and converted(4) == 8


def test_smolagents_code_agent_runs_through_the_engine() -> None:
    CALLS.clear()
    replies = [
        "Thought: look around\n<code>\nimport os\nprint(os.listdir('/'))\n</code>",
        "Thought: wrong type\n<code>\nprint(double(x='two'))\n</code>",
        "Thought: get ids\n<code>\nids = get_user_ids()\nprint('ids', ids, limit)\n</code>",
        "Thought: finish\n<code>\nfinal_answer(sum(double(x=i) for i in ids) + limit)\n</code>",
    ]
    model = ScriptedModel(replies)
    executor = CodeActExecutor(policy="default")
    with CodeAgent(tools=[get_user_ids, Double()], model=model, executor=executor,
                   verbosity_level=-1) as agent:
        answer = agent.run("Sum of the doubled ids, plus the limit?",
                           additional_args={"limit": 100})
        errors = [str(s.error) for s in agent.memory.steps if getattr(s, "error", None)]
        logs = [s.observations for s in agent.memory.steps if getattr(s, "observations", None)]
    assert answer == 112
    assert CALLS == [1, 2, 3]  # brokered to the trusted side, once each
    assert "[policy P101] line 1:8: module `os` cannot be imported" in errors[0]
    assert "[types T101]" in errors[1] and 'expected "int"' in errors[1]
    assert "ids [1, 2, 3] 100" in logs[0]
    assert "[policy P101]" in str(model.seen[1])  # the model was told, structured


def get_ids() -> list[int]:
    """Return all user ids."""
    return [1, 2, 3]


@lc_tool
def triple(x: int) -> int:
    """Triple an integer."""
    CALLS.append(x)
    return 3 * x


def test_langgraph_codeact_graph_runs_through_the_engine() -> None:
    CALLS.clear()
    model = GenericFakeChatModel(messages=iter([
        AIMessage(content="```python\nimport os\n```"),
        AIMessage(content="Let me look.\n```python\nids = get_ids()\nprint(ids)\n```"),
        AIMessage(content="```python\ntotal = sum(triple(i) for i in ids)\nprint(total)\n```"),
        AIMessage(content="The answer is 18."),
        AIMessage(content="```python\nprint(total + 1)\n```"),
        AIMessage(content="19."),
    ]))
    evaluate = CodeActEval(policy="default")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = create_codeact(model, [get_ids, triple], evaluate).compile(
            checkpointer=MemorySaver())
    config = {"configurable": {"thread_id": "t1"}}
    try:
        first = graph.invoke({"messages": [{"role": "user", "content": "sum of tripled ids?"}]},
                             config=config)
        contents = [m.content for m in first["messages"]]
        assert "[policy P101] line 1:8" in contents[2]
        assert contents[4] == "[1, 2, 3]\n" and contents[6] == "18\n"
        assert first["context"] == {"ids": [1, 2, 3], "total": 18}
        assert CALLS == [1, 2, 3]
        second = graph.invoke({"messages": [{"role": "user", "content": "plus one?"}]},
                              config=config)
        assert [m.content for m in second["messages"][-2:]] == ["19\n", "19."]
    finally:
        evaluate.close()


def test_langgraph_eval_fn_alone() -> None:
    evaluate = CodeActEval(policy="default", check_types=False)
    try:
        output, new = evaluate("x = limit * 2\nprint(x)", {"limit": 21, "get_ids": get_ids})
        assert (output, new) == ("42\n", {"x": 42})
        output, new = evaluate("def f():\n    return 1\ny = f()", {"limit": 21, "x": 42,
                                                                  "get_ids": get_ids})
        assert new == {"y": 1}  # the function stays in the sandbox: it is not data
        output, new = evaluate("print(undefined_name)", {"get_ids": get_ids})
        assert new == {} and "P110" in output
    finally:
        evaluate.close()


DECIMAL_SUM = ("Thought: exact sum\n<code>\nimport decimal\n"
               "final_answer(str(decimal.Decimal('0.1') + decimal.Decimal('0.2')))\n</code>")


def test_smolagents_code_agent_honours_additional_authorized_imports() -> None:
    """The reported path: the imports given to the CodeAgent reach the engine's policy."""
    model = ScriptedModel([DECIMAL_SUM])
    executor = CodeActExecutor(policy="default")
    with CodeAgent(tools=[], model=model, executor=executor, max_steps=1,
                   additional_authorized_imports=["decimal"], verbosity_level=-1) as agent:
        answer = agent.run("0.1 + 0.2, exactly?")
        errors = [str(s.error) for s in agent.memory.steps if getattr(s, "error", None)]
    assert errors == [] and answer == "0.3"
    assert "decimal" in executor.policy.allowed_modules
    assert "decimal" in executor.prompt_rules  # what a model is told matches the policy


def test_smolagents_sandboxed_agent_builds_its_executor_from_the_imports() -> None:
    model = ScriptedModel([DECIMAL_SUM])
    with SandboxedCodeAgent(tools=[], model=model, policy="default", max_steps=1,
                            additional_authorized_imports=["decimal"],
                            verbosity_level=-1) as agent:
        assert isinstance(agent.python_executor, CodeActExecutor)
        assert "decimal" in agent.python_executor.policy.allowed_modules
        prompt = agent.system_prompt
        answer = agent.run("0.1 + 0.2, exactly?")
    # The prompt lists the modules the policy allows, not smolagents' own defaults.
    assert "'decimal'" in prompt and "'math'" in prompt and "'queue'" not in prompt
    assert "You may import only: " in prompt and "decimal" in prompt.split("You may import")[1]
    assert answer == "0.3"


@pytest.mark.parametrize(("imports", "named"), [
    (["*"], "'*'"),
    (["decimal", "numpy.*"], "'numpy.*'"),
    (["os"], "'os'"),
    (["no_such_module_for_codeact"], "'no_such_module_for_codeact'"),
])
def test_smolagents_refuses_imports_it_cannot_honour(imports: list[str], named: str) -> None:
    with pytest.raises(PolicyError) as caught:
        CodeActExecutor(policy="default", additional_authorized_imports=imports)
    message = str(caught.value)
    assert named in message and "[imports] allow" in message
    assert "default.toml" in message  # where imports are configured
    with pytest.raises(PolicyError, match=re.escape(named)):
        SandboxedCodeAgent(tools=[], model=ScriptedModel([]), additional_authorized_imports=imports)


def test_smolagents_imports_the_policy_already_allows_are_accepted() -> None:
    executor = CodeActExecutor(policy="default", additional_authorized_imports=["math", "json"])
    assert executor.policy == Policy.load("default")


def test_smolagents_plain_code_agent_refuses_a_wildcard_before_any_code_runs() -> None:
    model = ScriptedModel([])  # asking it would fail: nothing may run
    with CodeAgent(tools=[], model=model, executor=CodeActExecutor(policy="default"),
                   additional_authorized_imports=["*"], verbosity_level=-1) as agent, \
            pytest.raises(PolicyError, match=r"'\*'.*\[imports\] allow"):
        agent.run("anything")
    assert model.seen == []


def test_langgraph_async_graph_runs_through_the_engine() -> None:

    CALLS.clear()
    model = GenericFakeChatModel(messages=iter([
        AIMessage(content="```python\ntotal = sum(triple(i) for i in get_ids())\n"
                          "print(total)\n```"),
        AIMessage(content="The answer is 18."),
    ]))
    evaluate = CodeActEval(policy="default")
    ticks = 0
    during: list[int] = []

    async def timed_eval(code: str, _locals: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        before = ticks
        outcome = await evaluate.aeval(code, _locals)
        during.append(ticks - before)  # what the event loop did while the snippet ran
        return outcome

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = create_codeact(model, [get_ids, triple], timed_eval).compile(
            checkpointer=MemorySaver())

    async def main() -> dict[str, Any]:
        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        ticker = asyncio.ensure_future(tick())
        try:
            state: dict[str, Any] = await graph.ainvoke(
                {"messages": [{"role": "user", "content": "sum of tripled ids?"}]},
                config={"configurable": {"thread_id": "async"}})
        finally:
            ticker.cancel()
        return state

    try:
        state = asyncio.run(main())
        assert [m.content for m in state["messages"][-2:]] == ["18\n", "The answer is 18."]
        assert state["context"] == {"total": 18} and CALLS == [1, 2, 3]
        assert during and during[0] > 0  # the loop was not blocked by the snippet
    finally:
        evaluate.close()


def test_langgraph_cancelled_aeval_interrupts_the_snippet() -> None:
    """A graph run cancelled (or timed out) while its code node runs stops the snippet; the
    conversation's session is restored and answers the next call at once."""
    evaluate = CodeActEval(policy="default")

    def count() -> int:
        """How many calls so far."""
        CALLS.append(len(CALLS))
        return len(CALLS)

    async def main() -> tuple[str, int]:
        tools = {"count": count}
        await evaluate.aeval("kept = 5", dict(tools))
        running = asyncio.ensure_future(evaluate.aeval("while True:\n    count()", dict(tools)))
        while not CALLS:
            await asyncio.sleep(0.01)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        stopped_at = len(CALLS)
        await asyncio.sleep(0.3)
        assert len(CALLS) == stopped_at  # nothing ran after the cancelled await ended
        output, _ = await evaluate.aeval("print(kept)", dict(tools))
        session = evaluate.slot.session
        assert session is not None
        return output, session.interrupts

    CALLS.clear()
    try:
        output, interrupts = asyncio.run(main())
        assert output.startswith("5\n") and interrupts == 1
    finally:
        evaluate.close()
        CALLS.clear()

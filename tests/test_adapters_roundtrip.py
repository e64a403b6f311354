"""Variables cross between a snippet's session and a langgraph graph's state exactly: int keys
stay ints, tuples stay tuples, and a value that cannot cross says so (name and reason)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest

pytest.importorskip("langgraph_codeact")

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import MemorySaver
from langgraph_codeact import create_codeact

from engine.adapters._bridge import (
    MAX_LITERAL_DEPTH,
    NotLiteralError,
    literal_text,
    literal_value,
)
from engine.adapters.langgraph import CodeActEval, ExactSerializer

pytestmark = pytest.mark.filterwarnings("ignore:.*allowed_objects.*")


def get_ids() -> list[int]:
    """Return all user ids."""
    return [1, 2, 3]


def graph_for(replies: list[str], evaluate: CodeActEval, saver: MemorySaver) -> Any:
    model = GenericFakeChatModel(messages=iter([AIMessage(content=r) for r in replies]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return create_codeact(model, [get_ids], evaluate).compile(checkpointer=saver)


def ask(graph: Any, thread: str, question: str) -> dict[str, Any]:
    return graph.invoke(  # type: ignore[no-any-return]
        {"messages": [{"role": "user", "content": question}]},
        config={"configurable": {"thread_id": thread}})


def same(got: Any, expected: Any) -> bool:
    """Equal, and of the same types throughout (1 == 1.0 == True; (1,) != [1] only by type).
    A set's order is its hash seed's, so sets compare by their sorted elements."""
    return _typed(got) == _typed(expected) and got == expected


def _typed(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return (type(value).__name__, sorted((_typed(v) for v in value), key=repr))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_typed(v) for v in value])
    if isinstance(value, dict):
        return ("dict", [(_typed(k), _typed(v)) for k, v in value.items()])
    return (type(value).__name__, repr(value))


def test_int_keys_survive_a_checkpoint_and_a_new_eval() -> None:
    """The report: {1: "a"} came back as {"1": "a"} and a resumed thread failed to type-check."""
    saver = MemorySaver()
    first_eval = CodeActEval(policy="default")
    try:
        first = ask(graph_for(["```python\ncounts = {1: 'a', 2: 'b'}\nprint(len(counts))\n```",
                               "Two."], first_eval, saver), "t", "count")
    finally:
        first_eval.close()
    assert same(first["context"]["counts"], {1: "a", 2: "b"})

    resumed_eval = CodeActEval(policy="default")  # a new process would start like this
    try:
        graph = graph_for(["```python\nprint(counts[1] + counts[2])\n```", "ab."],
                          resumed_eval, saver)
        second = ask(graph, "t", "join them")
        state = graph.get_state({"configurable": {"thread_id": "t"}}).values
    finally:
        resumed_eval.close()
    contents = [m.content for m in second["messages"]]
    assert contents[-2:] == ["ab\n", "ab."]
    assert same(state["context"]["counts"], {1: "a", 2: "b"})


VALUES = {
    "by_int": {1: "a", 2: "b"},
    "by_other": {1.5: "f", True: "t", None: "n", (1, "x"): "tuple", -3: "neg", b"k": "bytes"},
    "pair": (1, "x"),
    "nested": [(1, [2, (3,)]), {"k": {4, 5}}, frozenset({(6, 7)}), ()],
    "unique": {3, 1, 2},
    "empty": [set(), frozenset(), {}, [], ""],
    "floats": [0.1, -0.0, 1e300, float("inf"), -float("inf")],
    "raw": b"\x00\xff'\"\\",
    "text": "quote ' \" backslash \\ newline \n tab \t \x00 \u2603 \U0001f600",
    "big": 2**63 - 1,
    "flag": False,
    "nothing": None,
}


def test_every_common_value_round_trips_through_the_checkpointer() -> None:
    """With the exact serializer even tuples survive a checkpoint; a new eval resumes."""
    saver = MemorySaver(serde=ExactSerializer())
    lines = [f"{name} = {literal_text(value)}" for name, value in VALUES.items()]
    first_eval = CodeActEval(policy="default", serde=saver.serde)
    try:
        first = ask(graph_for(["```python\n" + "\n".join(lines) + "\n```", "Done."],
                              first_eval, saver), "t", "bind them")
    finally:
        first_eval.close()
    assert "[state]" not in first["messages"][2].content  # nothing to report
    for name, value in VALUES.items():
        assert same(first["context"][name], value), name

    check = ("print(by_int[1], by_other[(1, 'x')], pair[1], isinstance(nested[0], tuple), "
             "sorted(unique), big - 1, raw[1], floats[3] > 0)")
    resumed_eval = CodeActEval(policy="default", serde=saver.serde)
    try:
        graph = graph_for([f"```python\n{check}\n```", "ok"], resumed_eval, saver)
        second = ask(graph, "t", "use them")
        state = graph.get_state({"configurable": {"thread_id": "t"}}).values["context"]
    finally:
        resumed_eval.close()
    assert second["messages"][-2].content == f"a tuple x True [1, 2, 3] {2**63 - 2} 255 True\n"
    for name, value in VALUES.items():
        assert same(state[name], value), name


def test_values_that_cannot_cross_are_named_with_a_reason() -> None:
    evaluate = CodeActEval(policy="default", check_types=False)
    try:
        output, new = evaluate(
            "from collections import Counter\nimport datetime\n"
            "seen = Counter('abca')\nwhen = datetime.date(2024, 1, 2)\nok = 1\n"
            "def helper() -> int:\n    return 1\n", {})
        assert new == {"ok": 1}  # helper and the modules stay in the session, as before
        issues = {i.name: i for i in evaluate.issues}
        assert set(issues) == {"seen", "when"}
        assert "Counter" in issues["seen"].reason and not issues["seen"].stored
        assert "date" in issues["when"].reason
        assert "[state] `seen`" in output and "[state] `when`" in output

        # The default checkpointer reads tuples back as lists: kept, with a warning.
        output, new = evaluate("pairs = [(1, 'a')]", {"ok": 1})
        assert same(new, {"pairs": [(1, "a")]})
        (issue,) = evaluate.issues
        assert issue.name == "pairs" and issue.stored and "tuples" in issue.reason
        # ...and the session keeps its tuple when the state comes back with lists.
        output, new = evaluate("print(pairs[0][1])", {"ok": 1, "pairs": [[1, "a"]]})
        assert output == "a\n" and evaluate.issues == ()
        output, _ = evaluate("print(isinstance(pairs[0], tuple))", {"pairs": [[1, "a"]]})
        assert output == "True\n"

        # A value in the state the sandbox cannot be given exactly is named, not mangled.
        output, new = evaluate("print(ok)", {"ok": 1, "stamp": math})
        (issue,) = evaluate.issues
        assert issue.name == "stamp" and issue.direction == "from_state"
        assert "[state] `stamp`" in output and output.endswith("1\n")

        # A value the checkpointer cannot store at all stays in the session, named.
        output, new = evaluate("huge = 10**40\nprint(huge > 0)", {"ok": 1})
        assert new == {} and output.startswith("True\n")
        (issue,) = evaluate.issues
        assert issue.name == "huge" and "64-bit" in issue.reason and not issue.stored
        output, _ = evaluate("print(huge % 7)", {"ok": 1})  # still there, told once
        assert output == f"{10**40 % 7}\n"
    finally:
        evaluate.close()


def test_in_place_changes_reach_the_state() -> None:
    evaluate = CodeActEval(policy="default", check_types=False)
    try:
        _, new = evaluate("counts = {1: 'a'}", {})
        _, new = evaluate("counts[2] = 'b'", {"counts": new["counts"]})
        assert same(new, {"counts": {1: "a", 2: "b"}})
    finally:
        evaluate.close()


def test_the_state_replaces_what_the_session_holds_when_it_differs() -> None:
    evaluate = CodeActEval(policy="default", check_types=False)
    try:
        evaluate("flag = 1", {})
        output, new = evaluate("print(flag)", {"flag": True})  # 1 == True, yet not the same
        assert output == "True\n" and new == {}
    finally:
        evaluate.close()


LITERALS = {**VALUES, "surrogate": "\ud800", "huge": -(10**40), "bytes": bytes(range(256)),
            "set_of_tuples": {(1, 2), ("a",)}, "tiny": 5e-324, "deep": [[[[[[[[1]]]]]]]]}


@pytest.mark.parametrize("value", list(LITERALS.values()), ids=list(LITERALS))
def test_literal_text_and_value_are_inverse(value: Any) -> None:
    assert same(literal_value(literal_text(value)), value)
    assert same(literal_value(repr(value)), value)


def test_nan_round_trips() -> None:
    assert math.isnan(literal_value(literal_text(float("nan"))))
    assert math.isnan(literal_value("nan"))
    assert len(literal_value(repr({float("nan"), float("nan")}))) == 2
    assert len(literal_value(literal_text({float("nan"), float("nan")}))) == 2


@pytest.mark.parametrize("text", [
    "__import__('os')", "[...]", "{1: {...}}", "(1+2j)", "1 + 1", "x", "[1, 2", "f'x'",
    "'a' 'b'", "[" * 500 + "]" * 500, "{" + ", ".join(str(i * (2**61 - 1)) for i in range(99))
    + "}", "Counter({'a': 1})", "float('1e3')", "-'a'", "{[1]: 2}", "1_000",
])
def test_literal_value_refuses_what_is_not_plain_data(text: str) -> None:
    with pytest.raises(NotLiteralError):
        literal_value(text)


@pytest.mark.parametrize("value", [
    1 + 2j, bytearray(b"x"), math, [print], {"a": object()}, True.__class__,
])
def test_literal_text_refuses_what_is_not_plain_data(value: Any) -> None:
    with pytest.raises(NotLiteralError):
        literal_text(value)


def test_literal_text_refuses_cycles() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(NotLiteralError, match="contains itself"):
        literal_text(loop)


def test_a_deleted_variable_comes_back_from_the_state() -> None:
    evaluate = CodeActEval(policy="default", check_types=False)
    try:
        _, new = evaluate("xs = [1]", {})
        output, new = evaluate("del xs", new)
        assert (output, new, evaluate.issues) == ("(no output)\n", {}, ())
        output, _ = evaluate("print(xs)", {"xs": [1]})  # the state still holds it
        assert output == "[1]\n"
    finally:
        evaluate.close()


@pytest.mark.parametrize("make", [lambda v: [v], lambda v: (v,), lambda v: frozenset({v}),
                                  lambda v: {1: v}], ids=["list", "tuple", "frozenset", "dict"])
def test_render_and_parse_refuse_the_same_depth(make: Any) -> None:
    value: Any = 1
    for _ in range(MAX_LITERAL_DEPTH):
        value = make(value)
    assert same(literal_value(literal_text(value)), value)
    too_deep = make(value)
    with pytest.raises(NotLiteralError, match="deep"):
        literal_text(too_deep)
    with pytest.raises(NotLiteralError, match="deep"):
        literal_value(repr(too_deep))

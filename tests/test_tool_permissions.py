"""A policy's ``[tools]``: which tools, how often, with what — at every depth it is enforced.

Denied tools vanish from the stubs, the prompt and the sandbox (P160 names them); argument
rules are checked statically on literals (P161) and by the broker on every call (R217); call
limits by the broker (R218). The corpus's ``broker-*`` attacks forge the calls a compromised
child would send.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from engine import Engine, Policy, PolicyError, ToolRegistry, tool
from engine.policy.permissions import ToolPermissions
from engine.sandbox.broker import ToolBroker
from engine.sandbox.limits import unavailable_reason
from engine.sandbox.protocol import ToolStatus
from tests.conftest import only

needs_sandbox = pytest.mark.skipif(unavailable_reason() is not None,
                                   reason="seccomp unavailable")

RAN: list[tuple[str, object]] = []


@tool
def get_user(user_id: int) -> str:
    """Get a user's name."""
    RAN.append(("get_user", user_id))
    return f"user{user_id}"


@tool
def send_email(to: str, body: str = "") -> bool:
    """Send an email."""
    RAN.append(("send_email", to))
    return True


@tool
def deactivate(user_id: int) -> bool:
    """Deactivate a user."""
    RAN.append(("deactivate", user_id))
    return True


@tool
def refund(amount: float) -> float:
    """Refund an amount."""
    RAN.append(("refund", amount))
    return amount


TOOLSET = ToolRegistry([get_user, send_email, deactivate, refund])
PLATFORM = '''
extends = "default"
name = "platform"
[tools]
allow = ["get_*", "send_email", "refund"]
deny = ["deactivate"]
[tools.calls]
send_email = 2
[tools.arguments.send_email]
to = { pattern = '^[^@]+@example\\.com$' }
[tools.arguments.refund]
amount = { minimum = 0, maximum = 500 }
'''


@pytest.fixture(scope="module")
def engine() -> Engine:
    with Engine(TOOLSET, Policy.from_toml(PLATFORM)) as made:
        yield made  # type: ignore[misc]


def test_a_denied_tool_is_not_in_the_stubs_the_prompt_or_the_catalog(engine: Engine) -> None:
    assert "def deactivate" not in engine.stubs and "def get_user" in engine.stubs
    assert "deactivate" not in engine.prompt_view and "get_user" in engine.prompt_view
    assert engine.registry.names == ("get_user", "send_email", "refund")
    assert engine.denied_tools == ("deactivate",)


def test_calling_a_denied_tool_is_p160_with_the_permitted_tools(engine: Engine) -> None:
    finding = only(engine.check("deactivate(3)"), "P160")
    assert "platform" in finding.message and (finding.line, finding.column) == (1, 1)
    assert finding.hint == "permitted tools are: get_user, send_email, refund"
    # a function of the snippet's own that happens to have the name is its own business
    assert engine.check("def deactivate(x):\n    return x\nprint(deactivate(1))").ok


@needs_sandbox
def test_a_denied_tool_is_absent_from_the_sandbox() -> None:
    with Engine(TOOLSET, Policy.from_toml(PLATFORM), check_policy=False,
                check_types=False) as bare:
        result = bare.run("deactivate(3)")
    assert "NameError" in only(result, "R101").message
    assert ("deactivate", 3) not in RAN


@pytest.mark.parametrize(("source", "message"), [
    ("send_email('a@evil.org')", "send_email(to='a@evil.org'): `to` must match"),
    ("send_email(to='a@evil.org', body='x')", "`to` must match"),
    ("refund(-5)", "refund(amount=-5): `amount` must be a finite number of at least 0"),
    ("refund(amount=500.5)", "`amount` must be a finite number of at most 500"),
])
def test_literal_arguments_a_rule_refuses_are_p161(engine: Engine, source: str,
                                                    message: str) -> None:
    finding = only(engine.check(source), "P161")
    assert message in finding.message and "policy 'platform'" in finding.message
    assert finding.hint is not None and "must be" in finding.hint


@pytest.mark.parametrize("source", [
    "send_email('ops@example.com', 'hi')", "refund(0)", "refund(amount=499.5)",
    "to = 'x' + '@evil.org'\nsend_email(to)",  # computed: the broker's to refuse
])
def test_allowed_or_computed_arguments_pass_the_static_stage(engine: Engine,
                                                            source: str) -> None:
    assert engine.check(source).ok


@needs_sandbox
@pytest.mark.parametrize(("source", "code", "message"), [
    ("to = 'x' + '@evil.org'\nsend_email(to)", "R217",
     "send_email(to='x@evil.org'): `to` must match"),
    ("x = 250\nrefund(x * 3)", "R217", "`amount` must be a finite number of at most 500"),
    ("for n in range(3):\n    send_email(f'u{n}@example.com')", "R218",
     "send_email() may be called at most 2 times per snippet under policy 'platform'"),
    ("try:\n    refund(0 - 1)\nexcept Exception:\n    print('caught')\n", "R217", "at least 0"),
])
def test_the_broker_refuses_before_the_tool_runs(engine: Engine, source: str, code: str,
                                                 message: str) -> None:
    RAN.clear()
    result = engine.run(source)
    finding = only(result, code)
    assert message in finding.message
    assert "caught" not in result.stdout  # a refusal stops the snippet
    assert not any(value in ("x@evil.org", 750.0, -1.0, "u2@example.com") for _, value in RAN)


@needs_sandbox
def test_call_limits_count_per_snippet(engine: Engine) -> None:
    with engine.session() as session:
        for _ in range(3):
            assert session.run("send_email('a@example.com')\nsend_email('b@example.com')").ok


def _call(name: str, *args: object, **kwargs: object) -> bytes:
    return json.dumps({"call": 1, "tool": name, "args": list(args), "kwargs": kwargs}).encode()


def test_the_broker_refuses_what_a_compromised_child_sends() -> None:
    """Calls framed by hand, past any proxy: each is refused before the tool runs."""
    policy = Policy.from_toml(PLATFORM)
    permissions = ToolPermissions.of(policy)
    RAN.clear()
    # the broker is given the whole toolset here: the policy alone must refuse `deactivate`
    broker = ToolBroker(TOOLSET, policy.limits, permissions=permissions)
    reply = broker.handle(_call("deactivate", 3))
    assert reply[0] == ToolStatus.LIMIT and b"R216" in reply
    for payload, code in [(_call("send_email", to="root@evil.org"), b"R217"),
                          (_call("refund", amount=1e9), b"R217")]:
        broker = ToolBroker(TOOLSET, policy.limits, permissions=permissions)
        reply = broker.handle(payload)
        assert reply[0] == ToolStatus.LIMIT and code in reply
    broker = ToolBroker(TOOLSET, policy.limits, permissions=permissions)
    for _ in range(2):
        assert broker.handle(_call("send_email", "a@example.com"))[0] == ToolStatus.OK
    assert b"R218" in broker.handle(_call("send_email", "a@example.com"))
    assert RAN == [("send_email", "a@example.com")] * 2


def test_a_typo_in_a_tool_name_is_a_warning_with_close_matches(
        caplog: pytest.LogCaptureFixture) -> None:
    policy = Policy.from_toml('extends = "default"\nname = "typo"\n[tools]\n'
                              'deny = ["deactivat"]\n[tools.calls]\nsend_emial = 1\n')
    with caplog.at_level(logging.WARNING), Engine(TOOLSET, policy) as engine:
        warnings = engine.policy_warnings
    assert any("'deactivat'" in w and "'deactivate'" in w for w in warnings)
    assert any("'send_emial'" in w and "'send_email'" in w for w in warnings)
    assert any("deactivat" in r.getMessage() for r in caplog.records)
    # patterns are not names: no warning for a glob that matches nothing
    assert Policy.from_toml('[tools]\nallow = ["zzz_*"]').tool_name_issues(["get_user"]) == []


def test_tools_keys_extend_and_edit_like_the_others(tmp_path: Path) -> None:
    base = tmp_path / "base.toml"
    base.write_text(PLATFORM)
    child = Policy.from_toml('extends = "base.toml"\n[tools]\ndeny = { add = ["refund"] }\n'
                             '[tools.calls]\nget_user = 5\n', base_dir=tmp_path)
    assert child.tools.deny == ("deactivate", "refund")
    assert child.tools.calls == {"send_email": 2, "get_user": 5}
    assert child.tools.arguments["send_email"]["to"].pattern is not None
    with pytest.raises(PolicyError, match="regular expression"):
        Policy.from_toml('[tools.arguments.f]\nx = { pattern = "(" }')
    with pytest.raises(PolicyError, match=r"tools\.arguments\.f\.x\.nope"):
        Policy.from_toml('[tools.arguments.f]\nx = { nope = 1 }')


def test_the_prompt_states_the_limits_and_policy_show_the_permissions() -> None:
    from engine.policy.prompt import tool_permission_lines

    policy = Policy.from_toml(PLATFORM)
    rules = "\n".join(policy.prompt_rules())
    assert "send_email(): call it at most 2 times per snippet; `to` must be a string " \
           "matching" in rules
    assert "refund(): `amount` must be a number from 0 to 500." in rules
    assert "deactivate" not in rules  # the model is not told about tools it cannot use
    lines = tool_permission_lines(policy)
    assert "Tools never permitted: deactivate." in lines
    assert tool_permission_lines(Policy.load("default")) == [
        "Tools: every tool of the toolset, any arguments."]


def test_the_digest_is_the_rules_not_the_layout(tmp_path: Path) -> None:
    base = tmp_path / "base.toml"
    base.write_text('extends = "default"\n[limits]\ntimeout_seconds = 5.0\n')
    through_extends = Policy.from_toml('extends = "base.toml"\nname = "a"', base_dir=tmp_path)
    flat = Policy.from_toml('extends = "default"\nname = "b"\ndescription = "other words"\n'
                            '[limits]\ntimeout_seconds = 5.0\n')
    assert through_extends.digest == flat.digest
    assert flat.digest.startswith("sha256:") and len(flat.digest) == 7 + 64
    assert flat.digest != Policy.load("default").digest
    wider = flat.model_copy(update={"limits": flat.limits.model_copy(
        update={"timeout_seconds": 6.0})})
    assert wider.digest != flat.digest


def test_the_digest_does_not_depend_on_the_order_of_a_list() -> None:
    one = Policy.from_toml('[imports]\nallow = ["math", "json"]\n[tools]\ndeny = ["b", "a"]')
    other = Policy.from_toml('[imports]\nallow = ["json", "math"]\n[tools]\ndeny = ["a", "b"]')
    assert one.digest == other.digest


def test_argument_rules_hold_at_their_edges() -> None:
    """Found by the sixth red team: NaN passed minimum/maximum, `$` let a trailing newline
    through, True counted as 1, and a backtracking pattern held the host for seconds."""
    from engine.policy.model import ArgumentRule

    bounded = ArgumentRule(minimum=0, maximum=100)
    assert bounded.violation(float("nan")) is not None
    assert bounded.violation(float("inf")) is not None and bounded.violation(50) is None
    address = ArgumentRule(pattern=r"^[a-z.]+@corp\.com$")
    assert address.violation("bob@corp.com\n") is not None
    assert address.violation("bob@corp.com") is None
    assert ArgumentRule(one_of=(1, 2)).violation(True) is not None
    assert ArgumentRule(one_of=(1, 2)).violation(2.0) is None
    # RE2: linear whatever the pattern (Python's re takes minutes on this one at 34 chars)
    nested = ArgumentRule(pattern=r"^([a-z0-9]+[._-]?)+@corp\.com$")
    assert nested.violation("a" * 100_000 + "!") is not None
    with pytest.raises(PolicyError, match="RE2"):
        Policy.from_toml('[tools.arguments.f]\nx = { pattern = "(a)\\\\1" }')


def test_a_refused_argument_is_described_without_its_own_repr() -> None:
    from engine.policy.model import ArgumentRule, Tools

    class Deep:
        def __repr__(self) -> str:
            raise RecursionError("maximum recursion depth exceeded")

    permissions = ToolPermissions("p", Tools(arguments={"f": {"x": ArgumentRule(
        pattern="^a$")}}))
    message = permissions.refused_argument("f", {"x": Deep()})
    assert message is not None and "f(x=<Deep" in message  # reprlib names it


def test_refused_calls_are_recorded_and_a_replay_is_judged_by_todays_rules() -> None:
    policy = Policy.from_toml(PLATFORM)
    permissions = ToolPermissions.of(policy)
    broker = ToolBroker(TOOLSET, policy.limits, permissions=permissions)
    broker.handle(_call("deactivate", 3))
    assert [(c.tool, c.status) for c in broker.calls] == [("deactivate", ToolStatus.LIMIT)]
    # a record made under a looser policy: its reply is not a pass for today's rules
    loose = ToolBroker(TOOLSET, Policy.load("default").limits)
    loose.handle(_call("refund", amount=900))
    replay = ToolBroker(TOOLSET, policy.limits, replay=loose.calls, permissions=permissions)
    reply = replay.handle(_call("refund", amount=900))
    assert reply[0] == ToolStatus.LIMIT and b"R217" in reply


def test_a_rule_on_a_parameter_the_tool_does_not_have_is_a_warning() -> None:
    policy = Policy.from_toml('[tools.arguments.send_email]\nTo = { pattern = "^a$" }\n'
                              'bodyy = { max_length = 5 }\n')
    with Engine(TOOLSET, policy) as engine:
        warnings = "\n".join(engine.policy_warnings)
    assert "'To', which is not a parameter of send_email()" in warnings
    assert "did you mean 'to'" in warnings and "did you mean 'body'" in warnings


def test_json_mode_applies_the_argument_rules_and_call_limits() -> None:
    from engine.agent.json_agent import JsonToolAgent
    from engine.testing.fake_ollama import FakeOllama

    RAN.clear()
    with FakeOllama([]) as server, Engine(TOOLSET, Policy.from_toml(PLATFORM)) as engine:
        from engine.agent import OllamaModel, ToolCallRequest

        agent = JsonToolAgent(engine, OllamaModel("m", host=server.url))
        refused, call = agent._call(
            ToolCallRequest("1", "send_email", {"to": "eve@elsewhere.org"}))
        assert not call.ok and "must match" in refused
        for _ in range(3):
            agent._call(ToolCallRequest("2", "send_email", {"to": "ops@example.com"}))
    assert RAN == [("send_email", "ops@example.com")] * 2  # calls = 2

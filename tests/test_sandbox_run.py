"""Running snippets: output, values, sessions, brokered tools, and what a failure leaves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from engine import Engine, Policy, RunResult, Stage, ToolRegistry, load_tools, tool
from engine.results import TOOL_PAYLOADS
from examples.toolsets import users as users_toolset


def codes_of(result: RunResult) -> list[str]:
    return [d.code for d in result.diagnostics]


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    users_toolset.reset()
    eng = Engine(load_tools("examples.toolsets.users"), "default")
    yield eng
    eng.close()


def test_output_value_and_final_answer(engine: Engine) -> None:
    with engine.session() as session:
        printed = session.run("print('hello', 1 + 1)")
        assert printed.ok and printed.stdout == "hello 2\n" and printed.value is None
        trailing = session.run("x = 20\nx + 1")
        assert trailing.value == 21 and not trailing.final
        final = session.run("final_answer({'n': x, 'ok': True})")
        assert final.final and final.value == {"n": 20, "ok": True}


def test_state_persists_with_types(engine: Engine) -> None:
    with engine.session() as session:
        first = session.run("active = [u for u in get_all_users() if u.active]")
        assert first.ok and first.names == ("active",)
        second = session.run("print(len(active), active[0].address.country)")
        assert second.ok, second.diagnostics
        count, country = second.stdout.split()
        assert int(count) == sum(u.active for u in users_toolset.DIRECTORY.users.values())
        assert len(country) == 2
        typo = session.run("print(active[0].adress)")
        assert not typo.executed and codes_of(typo) == ["T103"]


def test_seed_example_deactivates_every_inactive_user() -> None:
    users_toolset.reset()
    eng = Engine(load_tools("examples.toolsets.users"), "default")
    try:
        inactive_before = sum(not u.active for u in users_toolset.DIRECTORY.users.values())
        result = eng.run(
            "users = get_all_users()\n"
            "inactive = [u for u in users if not u.active]\n"
            "for u in inactive:\n"
            "    deactivate(u.id)\n"
            "final_answer(len(inactive))\n"
        )
        assert result.ok, result.diagnostics
        assert result.value == inactive_before
        assert len(result.tool_calls) == inactive_before + 1
        assert all(c.ok for c in result.tool_calls)
        assert result.usage is not None and result.usage.tool_calls == inactive_before + 1
    finally:
        eng.close()
        users_toolset.reset()


def test_models_are_rebuilt_and_can_be_passed_back() -> None:
    eng = Engine(load_tools("examples.toolsets.company"), "default")
    try:
        result = eng.run(
            "c = get_company('Acme')\n"
            "staff = [e for d in c.departments for e in d.employees]\n"
            "best = max(staff, key=compute_happiness)\n"
            "print(best.address.city)\n"
            "final_answer({'who': best.name, 'score': compute_happiness(best)})\n"
        )
        assert result.ok, result.diagnostics
        assert set(result.value) == {"who", "score"} and 0 <= result.value["score"] <= 1
    finally:
        eng.close()


def test_enum_arguments_cross_the_boundary() -> None:
    eng = Engine(load_tools("examples.toolsets.phones"), "default")
    try:
        result = eng.run(
            "p = get_phone_price('Pixel 9', 'DE')\n"
            "assert p is not None\n"
            "final_answer(convert_currency(p.amount, p.currency, Currency.USD))\n"
        )
        assert result.ok, result.diagnostics
        assert result.value == pytest.approx(799.0 * 1.12, rel=0.01)
    finally:
        eng.close()


CALLS: list[int] = []


@tool
def record(n: int) -> int:
    """Record n on the trusted side."""
    CALLS.append(n)
    return n


@tool
def explode(message: str) -> str:
    """Always fails."""
    raise RuntimeError(message)


@pytest.fixture(scope="module")
def unchecked() -> Iterator[Engine]:
    """The sandbox alone: static checks off, so the parent's validation is what stands."""
    eng = Engine(ToolRegistry([record, explode]), "default", check_policy=False,
                 check_types=False)
    yield eng
    eng.close()


def test_wrong_argument_type_is_rejected_before_the_tool_runs(unchecked: Engine) -> None:
    CALLS.clear()
    result = unchecked.run("record('not a number')")
    assert codes_of(result) == ["R103"]
    assert "record(): invalid argument n:" in result.diagnostics[0].message
    assert "n:" in result.diagnostics[0].message and CALLS == []
    assert codes_of(unchecked.run("record(1, 2)")) == ["R103"] and CALLS == []
    assert codes_of(unchecked.run("record(m=1)")) == ["R103"] and CALLS == []
    assert unchecked.run("record('5')").ok and CALLS == [5]  # lax: a numeric string is an int


def test_tool_exception_comes_back_clean(unchecked: Engine) -> None:
    result = unchecked.run("x = 1\nexplode('disk on fire')")
    [d] = result.diagnostics
    assert d.code == "R102" and d.stage is Stage.RUNTIME and d.line == 2
    assert "explode() failed: RuntimeError: disk on fire" in d.message
    assert result.traceback is not None
    assert "tests/" not in result.traceback and "engine/" not in result.traceback
    caught = unchecked.run("try:\n    explode('x')\nexcept Exception as e:\n    print('caught', e)")
    assert caught.ok and "caught explode() failed" in caught.stdout


def test_arguments_that_are_not_data(unchecked: Engine) -> None:
    result = unchecked.run("record(lambda: 1)")
    assert codes_of(result) == ["R103"]
    assert "cannot be sent to a tool" in result.diagnostics[0].message


def test_runtime_error_is_located_with_snippet_only_traceback(engine: Engine) -> None:
    result = engine.run("def ratio(a, b):\n    return a / b\n\nprint(ratio(1, 0))\n")
    [d] = result.diagnostics
    assert (d.code, d.line, d.column) == ("R101", 2, 12)
    assert d.message == "ZeroDivisionError: division by zero"
    assert d.source_line == "    return a / b"
    assert result.traceback == (
        "Traceback (most recent call last):\n  line 4, in <module>\n    print(ratio(1, 0))\n"
        "  line 2, in ratio\n    return a / b\nZeroDivisionError: division by zero"
    )


def test_failed_snippet_rolls_back_its_bindings(engine: Engine) -> None:
    with engine.session() as session:
        assert session.run("total = 1\nitems = [1, 2]").ok
        failed = session.run("total = 99\nitems.append(3)\nfresh = 1\nraise ValueError('no')")
        assert codes_of(failed) == ["R101"]
        after = session.run("print(total, items)")
        assert after.stdout == "1 [1, 2, 3]\n"  # rebinding undone; the in-place append stays
        assert "fresh" not in session.context.names


def test_checks_refuse_before_anything_runs(engine: Engine) -> None:
    result = engine.run("import os\nos.system('true')")
    assert not result.executed and not result.ok and result.usage is None
    assert codes_of(result) == ["P101"]


def test_unknown_module_import_fails_at_runtime_too(unchecked: Engine) -> None:
    result = unchecked.run("import sqlite3")
    assert codes_of(result) == ["R101"] and "not allowed here" in result.diagnostics[0].message


def test_allowed_modules_are_sanitised_views(unchecked: Engine) -> None:
    shown = unchecked.run("import json\nprint(json.dumps([1]))")
    assert shown.ok and shown.stdout == "[1]\n"
    private = unchecked.run("import json\nprint(json._default_decoder)")
    assert codes_of(private) == ["R101"] and "AttributeError" in private.diagnostics[0].message
    sub = unchecked.run("import json\nprint(json.decoder)")
    assert codes_of(sub) == ["R101"]
    from_import = unchecked.run("from json import decoder")
    assert codes_of(from_import) == ["R101"]


def test_policy_builtins_are_the_only_builtins(unchecked: Engine) -> None:
    for name in ("open", "eval", "exec", "getattr", "globals", "__import__('os')"):
        result = unchecked.run(f"print({name})")
        assert codes_of(result) == ["R101"], name
        assert "NameError" in result.diagnostics[0].message or "ImportError" in \
            result.diagnostics[0].message


def test_a_policy_that_forbids_classes_leaves_the_sandbox_without_them() -> None:
    allowed = Engine([], "default", check_types=False)
    forbidden = Engine([], Policy.from_toml(
        'extends = "default"\n[syntax]\nforbid = { add = ["class"] }\n'), check_types=False,
        check_policy=False)
    try:
        result = allowed.run("class Point:\n    x = 1\nprint(Point.x)")
        assert result.ok and result.stdout == "1\n", result.diagnostics
        # With the policy stage off, the sandbox alone has no __build_class__.
        refused = forbidden.run("class Point:\n    x = 1\nprint(Point.x)")
        assert not refused.ok and "__build_class__" in refused.diagnostics[0].message
    finally:
        allowed.close()
        forbidden.close()


def test_stdlib_lazy_imports_work_in_the_sandbox(engine: Engine) -> None:
    # date.strftime and datetime.strptime import modules on first use, from the snippet's
    # frame; the sandbox has them ready although snippets may not import them.
    result = engine.run(
        "import datetime\n"
        "d = datetime.date(2025, 1, 2)\n"
        "p = datetime.datetime.strptime('2025-03-04 05:06', '%Y-%m-%d %H:%M')\n"
        "print(d.strftime('%A %d %B %Y'), p.isoformat(), 'é'.encode('latin-1'))"
    )
    assert result.ok, result.diagnostics
    assert result.stdout == "Thursday 02 January 2025 2025-03-04T05:06:00 b'\\xe9'\n"
    # _strptime is ready for strptime, not for snippets.
    assert codes_of(engine.run("import _strptime")) == ["P101"]


def test_a_run_with_recorded_tool_results_calls_no_tool() -> None:
    calls: list[int] = []

    @tool
    def charge(amount: int) -> str:
        """Charge a card."""
        calls.append(amount)
        return f"receipt-{amount}"

    eng = Engine(ToolRegistry([charge]), "default")
    try:
        with eng.session() as live:
            first = live.run("r = charge(5)\nfinal_answer(r)")
        assert calls == [5] and first.value == "receipt-5"
        (call,) = first.tool_calls
        assert (call.arguments, call.reply, call.status) == ("[[5], {}]", '"receipt-5"', "ok")
        # JSON output leaves the payloads out unless asked (transcripts ask).
        assert "receipt-5" not in first.model_dump_json().replace('"value":"receipt-5"', "")
        assert '"reply":"\\"receipt-5\\""' in first.model_dump_json(
            context={TOOL_PAYLOADS: True})

        with eng.session() as replayed:
            again = replayed.run("r = charge(5)\nfinal_answer(r)", recorded=first.tool_calls)
            assert again.ok and again.value == "receipt-5"
            other = replayed.run("final_answer(charge(6))", recorded=first.tool_calls)
            assert codes_of(other) == ["R214"] and not other.ok
            # the replay stopped as the protocol says, not as a broken process (R211) killed
            # by its parent: its own report came back, with its output
            assert other.executed and other.diagnostics[0].line == 1
            assert "charge(6)" in other.diagnostics[0].message
            assert "charge(5)" in other.diagnostics[0].message
            fewer = replayed.run("final_answer(1)", recorded=first.tool_calls)
            assert fewer.ok and codes_of(fewer) == ["R214"]  # a warning: 0 of 1 calls made
            assert replayed.run("final_answer(r)").value == "receipt-5"  # the session went on
        assert calls == [5]

        unrecorded = first.tool_calls[0].model_copy(update={"reply": None})
        with eng.session() as replayed, pytest.raises(ValueError, match="do not hold"):
            replayed.run("charge(5)", recorded=[unrecorded])
    finally:
        eng.close()


class Blob(BaseModel):
    name: str
    data: bytes


@tool
def checksum(data: bytes, extra: Any = None) -> int:
    """Sum of the bytes; ``extra`` must be bytes when given."""
    assert extra is None or extra == b"\xfe\x00", extra
    return sum(data)


@tool
def blobs() -> list[Blob]:
    """Two blobs of raw bytes."""
    return [Blob(name="zero-ff", data=b"\x00\xff"), Blob(name="text", data=b"abc")]


@tool
def anything() -> Any:
    """Raw bytes, declared as Any."""
    return {"raw": b"\x00\xff", "text": b"abc"}


@pytest.fixture(scope="module")
def bytes_engine() -> Iterator[Engine]:
    eng = Engine(ToolRegistry([checksum, blobs, anything]), "default")
    yield eng
    eng.close()


def test_bytes_that_are_not_utf8_cross_both_ways(bytes_engine: Engine) -> None:
    with bytes_engine.session() as session:
        sent = session.run('final_answer(checksum(b"\\x00\\xff", extra=b"\\xfe\\x00"))')
        assert sent.ok and sent.value == 255, sent.diagnostics
        back = session.run("b = blobs()\nfinal_answer([x.data for x in b])")
        assert back.ok and back.value == [b"\x00\xff", b"abc"], back.diagnostics
        untyped = session.run('final_answer(anything())')
        assert untyped.value == {"raw": b"\x00\xff", "text": b"abc"}
        loop = session.run("final_answer(checksum(b[0].data + anything()['raw']))")
        assert loop.value == 510, loop.diagnostics


def test_bytes_in_an_answer_are_tagged_in_json_and_read_back(bytes_engine: Engine) -> None:
    from engine.agent.feedback import observation
    from engine.agent.transcript import TurnRecord

    result = bytes_engine.run('final_answer({"k": b"\\x00\\xff"})')
    assert result.value == {"k": b"\x00\xff"}
    dumped = json.loads(result.model_dump_json())
    assert dumped["value"] == {"k": {"$bytes": "AP8="}}
    assert RunResult.model_validate_json(result.model_dump_json()).value == result.value
    assert 'Value: {"k": {"$bytes": "AP8="}}' in observation(result, "structured", 2000)
    record = TurnRecord(turn=1, value=result.value)
    assert TurnRecord.model_validate_json(record.model_dump_json()).value == {"k": b"\x00\xff"}


def test_a_forged_bytes_tag_is_bad_arguments_not_a_crash() -> None:
    eng = Engine(ToolRegistry([checksum]), "default", check_policy=False, check_types=False)
    try:
        with eng.session() as session:
            forged = session.run('checksum({"$bytes": "not base64!"})')
            assert codes_of(forged) == ["R103"] and "base64" in forged.diagnostics[0].message
            fine = session.run('final_answer(checksum({"$bytes": "AP8="}))')
            assert fine.value == 255  # the reserved key reads as bytes, as documented
            deep = session.run("x = b'1'\nfor _ in range(300):\n    x = [x]\n"
                               "checksum(x)")
            assert codes_of(deep) == ["R103"], deep.diagnostics
    finally:
        eng.close()


def test_interrupt_stops_the_running_snippet_and_keeps_the_session(engine: Engine) -> None:
    import threading

    with engine.session() as session:
        session.interrupt()  # nothing runs: nothing happens, now or later
        assert session.run("kept = 7").ok
        timer = threading.Timer(0.5, session.interrupt)
        timer.start()
        stopped = session.run("while True:\n    pass")
        timer.join()
        assert codes_of(stopped)[0] == "R215" and not stopped.ok
        assert session.run("final_answer(kept)").value == 7

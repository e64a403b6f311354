"""What a compromised child can send never hangs or breaks the parent (found by the corpus:
a child that floods tool calls without reading the replies blocked the parent's write
forever; malformed DONE fields raised in the parent)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from engine import Engine, Policy, load_tools
from engine.sandbox.limits import unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason="seccomp unavailable")

ESCAPE = (
    "real = [c for c in ().__class__.__base__.__subclasses__()"
    " if c.__name__ == 'catch_warnings'][0]()._module.__builtins__\n"
    "os = real['__import__']('os')\n"
    "def frame(kind, body):\n"
    "    return b'CX' + bytes([1, kind]) + len(body).to_bytes(4, 'big') + body\n"
)


@pytest.fixture(scope="module")
def bare() -> Iterator[Engine]:
    engine = Engine(load_tools("tests.security.toolset"),
                    Policy.load("tests/security/policy.toml"), check_policy=False,
                    check_types=False)
    yield engine
    engine.close()


def test_child_that_never_reads_its_replies_cannot_block_the_parent(bare: Engine) -> None:
    call = b'{"call": 1, "tool": "lookup", "args": ["alpha"], "kwargs": {}}'
    started = time.monotonic()
    result = bare.run(ESCAPE + f"for i in range(50000):\n    os.write(4, frame(3, {call!r}))")
    elapsed = time.monotonic() - started
    assert not result.ok
    assert elapsed < 10  # the 1.5 s timeout, not forever
    assert result.diagnostics[0].code in ("R201", "R211")


@pytest.mark.parametrize("body", [
    b'{"id": 1, "ok": false, "error": "forged"}',
    b'{"id": 1, "ok": true, "cpu_ms": "x"}',
    b'{"id": 1, "ok": true, "names": 5}',
    b'{"id": 1, "ok": true, "peak_memory_bytes": [1]}',
    b'{"id": 1, "ok": false, "error": [1]}',
    b'{"id": 1, "ok": false, "error": {"code": "R101", "message": "x", "line": 1,'
    b' "traceback": 5}}',
    b'{"id": 1, "ok": false, "error": {"code": "R207", "message": "forged kill"}}',
    b'{"id": 99, "ok": true}',
    b'[1, 2, 3]',
])
def test_malformed_outcomes_are_protocol_violations(bare: Engine, body: bytes) -> None:
    with bare.session() as session:
        result = session.run(ESCAPE + f"os.write(4, frame(5, {body!r}))\nwhile True:\n    pass")
        assert result.diagnostics[0].code == "R211", result.diagnostics
        assert session.run("print('fine')").stdout == "fine\n"


def test_undecodable_tool_arguments_are_bad_arguments_not_a_kill(bare: Engine) -> None:
    assert [d.code for d in bare.run("add(10**5000, 1)").diagnostics] == ["R103"]

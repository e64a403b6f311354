"""The trusted code around a snippet: the child's own loop, and the parent's own limits.

* The child's loop (frame codec, output capture, answer encoding, tool proxies) must not
  depend on anything a snippet can change, and must not run a snippet's objects outside the
  snippet's own guard: after each hostile snippet the next one runs exactly as sent.
* The parent enforces every limit itself and keeps nothing without bound.
* A child is frozen between snippets, holds no capabilities, is not dumpable, and its CPU
  limit binds even if the snippet ignores SIGXCPU.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Engine, Policy, Session, load_tools
from engine.sandbox.limits import unavailable_reason

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason="seccomp unavailable")

POLICY = Policy.from_toml(
    'extends = "default"\n'  # which allows classes
    "[limits]\ntimeout_seconds = 3.0\ncpu_seconds = 1.0\nmax_output_bytes = 4096\n"
)


@pytest.fixture(scope="module")
def bare() -> Iterator[Engine]:
    """Static checks off: only the sandbox and the parent stand."""
    engine = Engine(load_tools("tests.security.toolset"), POLICY, check_policy=False,
                    check_types=False)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def full() -> Iterator[Engine]:
    engine = Engine(load_tools("tests.security.toolset"), POLICY)
    yield engine
    engine.close()


def intact(session: Session) -> bool:
    marker = secrets.token_hex(6)
    a, b = secrets.randbelow(1000), secrets.randbelow(1000)
    result = session.run(f"print({marker!r})\nfinal_answer(add({a}, {b}))")
    return (result.ok and result.stdout == marker + "\n" and result.value == a + b
            and [c.tool for c in result.tool_calls] == ["add"] and not result.restarted)


# Legal-looking snippets that change what the standard library's shared classes do. With the
# static checks on they are refused (P124/T130); with them off they run, and the next snippet
# must not notice: the child's loop uses none of these objects.
SHARED_CHANGES = [
    "import json\njson.JSONDecoder.decode = lambda self, s, _w=None: {'id': 0, 'source': ''}",
    "import json\njson.JSONEncoder.encode = lambda self, o: '{}'",
    "import json\njson.JSONEncoder.item_separator = 'garbage'",
    "import json\njson.loads = json.dumps = print",
    "import json\ndel json.JSONDecoder.raw_decode",
    "import re\nre.compile = print",
    "import functools\nfunctools.reduce = print",
]


@pytest.mark.parametrize("source", SHARED_CHANGES)
def test_changing_shared_classes_does_not_change_the_next_snippet(
    bare: Engine, full: Engine, source: str
) -> None:
    checked = full.check(source)
    assert not checked.ok and {d.code for d in checked.errors} & {"P123", "P124", "T130"}
    with bare.session() as session:
        session.run(source)
        assert intact(session)
        assert intact(session)


@pytest.mark.parametrize(("source", "code"), [
    ("def g():\n    yield 1\n    raise ValueError('inside the answer')\nfinal_answer(g())",
     "R101"),
    ("class E(Exception):\n    def __str__(self):\n        raise RuntimeError('no')\nraise E()",
     "R101"),
    ("class E(Exception):\n    def __str__(self):\n        return str(self)\nraise E()", "R101"),
    ("class E(Exception):\n    def __str__(self):\n        final_answer('sneaky')\nraise E()",
     "R101"),
    ("class V:\n    def __repr__(self):\n        print('x' * 10**7)\n        return 'v'\nV()",
     None),
    ("raise KeyError(10**5000)", "R101"),
    ("def f(n):\n    " + "x = 1; " * 400 + "return f(n + 1)\nf(0)", "R210"),
])
def test_snippet_objects_never_run_outside_the_snippet(
    bare: Engine, source: str, code: str | None
) -> None:
    with bare.session() as session:
        result = session.run(source)
        if code is not None:
            assert not result.ok and result.errors[0].code == code, result.diagnostics
        assert not result.restarted, result.diagnostics  # never a crash or a protocol kill
        assert result.traceback is None or len(result.traceback) <= 16_000
        assert intact(session)


def test_history_stays_within_the_replay_budget(bare: Engine,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.session as session_module

    monkeypatch.setattr(session_module, "REPLAY_BUDGET_BYTES", 300_000)
    with bare.session() as session:
        big = "s = 'x' * 60_000\nfor i in range(3):\n    lookup(s)"
        for _ in range(3):
            assert session.run(big).ok
        assert session._history_bytes <= 300_000
        assert session.run("kept = 1").ok
        assert session._history == [] and not session._replay_on  # over: freed, not kept
        result = session.run("while True:\n    pass")
        assert result.restarted and result.lost_names  # reported lost, never replayed wrong
        assert session.run("kept = 2").ok and session._replay_on  # a fresh start records again


def test_one_snippet_cannot_make_the_parent_record_without_bound(
        bare: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.session as session_module

    monkeypatch.setattr(session_module, "REPLAY_BUDGET_BYTES", 200_000)
    with bare.session() as session:
        result = session.run("s = 'x' * 60_000\nfor i in range(20):\n    lookup(s)")
        assert result.ok and len(result.tool_calls) == 20
        assert session._history == [] and not session._replay_on


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def test_an_idle_child_is_frozen_and_holds_no_privileges(bare: Engine) -> None:
    with bare.session() as session:
        assert session.run("x = 1").ok
        pid = session.pid
        assert pid is not None
        status = _status(pid)
        deadline = time.monotonic() + 10  # SIGSTOP lands when the child next enters the kernel
        while not status["State"].startswith("T") and time.monotonic() < deadline:
            time.sleep(0.01)
            status = _status(pid)
        assert status["State"].startswith("T")  # stopped until its next snippet
        for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(status[field], 16) == 0, field
        assert status["NoNewPrivs"].strip() == "1" and status["Seccomp"].strip() == "2"
        assert session.run("print(x)").stdout == "1\n"


ESCAPE = ("g = add.__globals__\nsignal = g['sys'].modules['signal']\n"
          "clock = g['time'].process_time\n")


@pytest.mark.parametrize("disarm", [
    "signal.signal(signal.SIGXCPU, signal.SIG_IGN)",
    "signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGXCPU])",
    "signal.signal(signal.SIGXCPU, lambda *a: None)",
])
def test_the_cpu_limit_binds_when_sigxcpu_is_disarmed(bare: Engine, disarm: str) -> None:
    with bare.session() as session:
        result = session.run(ESCAPE + disarm + "\nwhile True:\n    pass")
        assert [d.code for d in result.errors] == ["R203"], result.diagnostics
        assert intact(session)


SESSION_CPU = """
import sys
sys.path.insert(0, {root!r})
from engine import Engine, Policy, load_tools
policy = Policy.from_toml('extends = "default"\\n[limits]\\ncpu_seconds = 1.0\\n'
                          'timeout_seconds = 5.0\\n')
with Engine(load_tools("tests.security.toolset"), policy, check_types=False) as engine:
    with engine.session() as session:
        # Each snippet times its own CPU: a count of loops calibrated in the test's process
        # can cost twice as much CPU here minutes later on a shared virtual machine.
        burn = ("import time\\nstart = time.process_time()\\n"
                "while time.process_time() - start < 0.5:\\n    pass")
        print([d.code for _ in range(4) for d in session.run(burn).errors])
        print([d.code for d in session.run("while True:\\n    pass").errors])
"""


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to drop CAP_SYS_RESOURCE")
def test_the_cpu_limit_is_per_snippet_without_cap_sys_resource(tmp_path: Path) -> None:
    # Without the capability a lowered hard limit could never be raised again: every later
    # snippet of the session would share the first one's budget.
    script = tmp_path / "host.py"
    script.write_text(SESSION_CPU.format(root=str(ROOT)))
    done = subprocess.run(
        ["setpriv", "--inh-caps=-sys_resource", "--bounding-set=-sys_resource",
         sys.executable, str(script)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=True)
    lines = done.stdout.splitlines()
    assert lines == ["[]", "['R203']"], done.stdout + done.stderr


def test_memory_running_out_while_the_answer_is_read_is_the_snippets_error() -> None:
    # The corpus runs this under a 1 s CPU limit, which a loaded machine may reach first;
    # here the CPU is roomy so that only the memory limit can end it.
    roomy = Policy.from_toml('extends = "default"\n[limits]\nmemory_mb = 256\n'
                             'cpu_seconds = 20.0\ntimeout_seconds = 30.0\n')
    source = 'import itertools\nfinal_answer("x" * 999_999 for n in itertools.count())'
    with Engine(load_tools("tests.security.toolset"), roomy, check_policy=False,
                check_types=False) as engine, engine.session() as session:
        result = session.run(source)
        assert [d.code for d in result.errors] == ["R202"], result.errors
        assert result.errors[0].line == 2 and not result.restarted
        assert intact(session)


def test_a_session_cannot_make_its_own_later_checks_costly(full: Engine) -> None:
    def nested(prefix: str) -> str:  # a tuple type of 10**5 elements, in five lines
        lines = [f"{prefix}a = (1,1,1,1,1,1,1,1,1,1)"]
        for previous, current in zip("abcd", "bcde", strict=True):
            lines.append(f"{prefix}{current} = (" + ",".join([prefix + previous] * 10) + ")")
        return "\n".join(lines)

    with full.session() as session:
        for prefix in ("s", "t"):
            assert session.run(nested(prefix)).ok
        assert sum(len(b.text) for b in session.context.bindings) < 20_000
        later = session.run("print(len(se))")
        assert later.ok and later.stdout == "10\n"


def test_the_tool_traffic_of_a_snippet_is_bounded(bare: Engine) -> None:
    policy = POLICY.model_copy(update={"limits": POLICY.limits.model_copy(
        update={"max_tool_traffic_bytes": 1_000_000})})
    with Engine(load_tools("tests.security.toolset"), policy, check_policy=False,
                check_types=False) as engine, engine.session() as session:
        result = session.run("s = 'x' * 60_000\nfor i in range(100):\n    lookup(s)")
        assert [d.code for d in result.errors] == ["R206"]
        assert "moved more than 1000000 bytes" in result.errors[0].message
        assert len(result.tool_calls) < 20
        assert intact(session)

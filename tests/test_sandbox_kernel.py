"""The kernel layer alone: static checks off, snippets escape to the real builtins and `os`,
and still cannot touch the host. Real processes, real seccomp, nothing mocked.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Engine, Policy, RunResult, ToolRegistry
from engine.sandbox.limits import unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None,
                                reason=f"seccomp unavailable: {unavailable_reason()}")

# Static checks are off, so this classic walk reaches the interpreter's real builtins.
ESCAPE = (
    "real = [c for c in ().__class__.__base__.__subclasses__()"
    " if c.__name__ == 'catch_warnings'][0]()._module.__builtins__\n"
    "os = real['__import__']('os')\n"
)


@pytest.fixture(scope="module")
def bare() -> Iterator[Engine]:
    engine = Engine(ToolRegistry(), "default", check_policy=False, check_types=False)
    yield engine
    engine.close()


def attack(engine: Engine, body: str) -> RunResult:
    return engine.run(ESCAPE + body)


def error_text(result: RunResult) -> str:
    return " ".join(d.message for d in result.diagnostics)


def test_the_escape_itself_works_without_static_checks(bare: Engine) -> None:
    result = attack(bare, "print(os.getpid() > 0)")
    assert result.ok and result.stdout == "True\n"


def test_cannot_read_a_host_file(bare: Engine, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CANARY")
    result = attack(bare, f"print(real['open']({str(secret)!r}).read())")
    assert not result.ok and "PermissionError" in error_text(result)
    assert "TOP-SECRET-CANARY" not in result.stdout + error_text(result)


def test_cannot_list_a_directory(bare: Engine, tmp_path: Path) -> None:
    result = attack(bare, f"print(os.listdir({str(tmp_path)!r}))")
    assert "PermissionError" in error_text(result)


def test_cannot_create_a_file(bare: Engine, tmp_path: Path) -> None:
    target = tmp_path / "created.txt"
    result = attack(bare, f"real['open']({str(target)!r}, 'w').write('x')")
    assert "PermissionError" in error_text(result)
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_cannot_open_a_socket_or_connect(bare: Engine) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.2)
        port = listener.getsockname()[1]
        result = attack(bare, f"s = real['__import__']('socket')\n"
                              f"c = s.create_connection(('127.0.0.1', {port}))")
        assert not result.ok
        with pytest.raises(TimeoutError):
            listener.accept()  # no connection ever arrived


def test_cannot_fork(bare: Engine) -> None:
    result = attack(bare, "print(os.fork())")
    assert "PermissionError" in error_text(result)


def test_fork_bomb_goes_nowhere(bare: Engine) -> None:
    result = attack(bare, "forks = 0\nwhile True:\n    try:\n        os.fork()\n"
                          "        forks += 1\n    except real['OSError']:\n        break\n"
                          "print(forks)")
    assert result.ok and result.stdout == "0\n"


def test_cannot_exec_a_program(bare: Engine, tmp_path: Path) -> None:
    canary = tmp_path / "pwned"
    shell = attack(bare, f"print(os.system('touch {canary}'))")
    assert shell.ok and shell.stdout.strip() != "0"  # the shell never started
    direct = attack(bare, f"os.execv('/usr/bin/touch', ['touch', {str(canary)!r}])")
    assert "PermissionError" in error_text(direct)
    spawn = attack(bare, f"sp = real['__import__']('subprocess')\n"
                         f"sp.run(['/usr/bin/touch', {str(canary)!r}])")
    assert not spawn.ok
    assert not canary.exists()


def test_cannot_signal_the_parent(bare: Engine) -> None:
    result = attack(bare, f"os.kill({os.getpid()}, 9)")
    assert "PermissionError" in error_text(result)
    result = attack(bare, "os.kill(os.getppid(), 9)")
    assert not result.ok


def test_cannot_write_outside_its_pipe(bare: Engine) -> None:
    result = attack(bare, "os.write(1, b'to the terminal')\nos.write(2, b'x')")
    assert not result.ok
    assert "Errno" in error_text(result)


def test_cannot_raise_its_own_limits(bare: Engine) -> None:
    result = attack(bare, "r = real['__import__']('resource')\n"
                          "r.setrlimit(r.RLIMIT_AS, (-1, -1))")
    assert not result.ok


def test_environment_is_empty_and_host_secrets_absent(tmp_path: Path) -> None:
    os.environ["CODEACT_TEST_API_KEY"] = "sk-canary-0123456789"
    try:
        engine = Engine(ToolRegistry(), "default", check_policy=False, check_types=False)
        result = engine.run(ESCAPE + (
            "gc = real['__import__']('gc')\n"
            "needle = 'sk-' + 'canary'\n"  # built at run time: the source never holds it
            "def strings(o):\n"
            "    if isinstance(o, dict):\n"
            "        return [*o.keys(), *o.values()]\n"
            "    if isinstance(o, (list, tuple, set, frozenset)):\n"
            "        return list(o)\n"
            "    return []\n"
            "found = [s for o in gc.get_objects() for s in strings(o)"
            " if isinstance(s, (str, bytes)) and s is not needle and needle in str(s)]\n"
            "print(dict(os.environ), len(found))"
        ))
        engine.close()
    finally:
        del os.environ["CODEACT_TEST_API_KEY"]
    assert result.ok, result.diagnostics
    assert result.stdout == "{} 0\n"


def test_forbidden_system_call_kills_the_process(bare: Engine) -> None:
    with bare.session() as session:
        assert session.run("kept = 41").ok
        result = session.run(ESCAPE + "ctypes = real['__import__']('sys').modules['ctypes']\n"
                                      "ctypes.CDLL(None).ptrace(0, 0, 0, 0)")
        assert [d.code for d in result.diagnostics][:1] == ["R207"]
        assert result.restarted and not result.lost_names
        assert session.run("print(kept + 1)").stdout == "42\n"


def test_broken_protocol_is_contained(bare: Engine) -> None:
    with bare.session() as session:
        garbage = session.run(ESCAPE + "os.write(4, b'this is not a frame at all')\n"
                                       "while True:\n    pass")
        assert "R211" in [d.code for d in garbage.diagnostics]
        huge = session.run(ESCAPE + "struct = real['__import__']('struct')\n"
                                    "os.write(4, struct.pack('!2sBBI', b'CX', 1, 3, 2**31))\n"
                                    "while True:\n    pass")
        assert "R211" in [d.code for d in huge.diagnostics]
        closed = session.run(ESCAPE + "os.close(4)\nos.close(3)\nwhile True:\n    pass")
        assert not closed.ok
        assert session.run("print('still here')").stdout == "still here\n"


def test_unsafe_mode_runs_without_the_filter() -> None:
    engine = Engine(ToolRegistry(), "default", check_policy=False, check_types=False,
                    isolation="unsafe-no-seccomp")
    try:
        result = engine.run(ESCAPE + "print(os.getuid() >= 0)")
        assert result.ok and result.stdout == "True\n"
    finally:
        engine.close()


def test_refuses_to_run_where_seccomp_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine import SandboxUnavailableError
    from engine.sandbox import limits

    monkeypatch.setattr(limits, "unavailable_reason", lambda: "libseccomp cannot be loaded")
    engine = Engine(ToolRegistry(), "default")
    with pytest.raises(SandboxUnavailableError, match="isolation='unsafe-no-seccomp'"):
        engine.session()
    engine.close()


def test_network_follows_the_policy() -> None:
    base = 'extends = "default"\n[imports]\nallow = { add = ["socket"] }\n'
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(5)
        port = listener.getsockname()[1]
        snippet = (f"import socket\nc = socket.create_connection(('127.0.0.1', {port}))\n"
                   "c.sendall(b'ping')\nprint('sent')")
        closed = Engine([], Policy.from_toml(base), check_types=False)
        refused = closed.run(snippet)
        closed.close()
        assert not refused.ok and "PermissionError" in error_text(refused)
        opened = Engine([], Policy.from_toml(base + "[sandbox]\nnetwork = true\n"),
                        check_types=False)
        result = opened.run(snippet)
        opened.close()
        assert result.ok, result.diagnostics
        connection, _ = listener.accept()
        with connection:
            assert connection.recv(4) == b"ping"

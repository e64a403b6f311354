"""Every attack of the corpus, three ways, with canaries as the judge of "no effect".

1. full pipeline: static checks and sandbox together. 0 escapes allowed, and each attack is
   stopped where the corpus says (stage and codes);
2. static checks only: an attack that passes them is a known static gap, listed in the
   summary, that the sandbox must contain;
3. sandbox only, static checks off: 0 escapes allowed, and the outcome is what the corpus says.

"No effect" is observed on the host, not taken from the child's word: a secret file that must
not be read, a directory where nothing may appear, a loopback port where no connection may
arrive, a host environment secret, and the parent's own state.

After every attack, in the same session, a probe snippet with fresh random values runs: it
prints one, passes two to a tool and answers with the tool's result. The parent sees the tool
call's arguments itself, so a probe whose output, answer or tool calls differ means the session
ran something other than the probe's checked source. In the full pipeline every probe must be
intact; with the static checks off, every probe after an attack that uses no interpreter
internals (no dunder names) must be intact too: the child's own loop may depend on nothing a
plain snippet can change.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from engine import Engine, Policy, RunResult, Session, load_tools
from engine.diagnostics import Severity
from engine.sandbox.limits import unavailable_reason
from tests.security.corpus_model import KILL_CODES, Attack, load_corpus

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason="seccomp unavailable")

ATTACKS = load_corpus()
HERE = Path(__file__).resolve().parent


@dataclass
class Outcome:
    attack: Attack
    full: str = ""
    static_passed: bool = False
    bare: str = ""
    escapes: list[str] = field(default_factory=list)
    probe_full: bool = True
    probe_bare: bool = True


#: Filled by the tests, printed by conftest's terminal summary.
OUTCOMES: dict[str, Outcome] = {}


class Canaries:
    """Host-side tripwires; ``breaches()`` lists anything an attack managed to do."""

    def __init__(self, root: Path) -> None:
        self.file_secret = "file-secret-" + secrets.token_hex(8)
        self.env_secret = "env-secret-" + secrets.token_hex(8)
        self.env_name = "CODEACT_CORPUS_SECRET"
        os.environ[self.env_name] = self.env_secret
        self.secret_file = root / "secret.txt"
        self.secret_file.write_text(self.file_secret)
        self.directory = root / "canary-dir"
        self.directory.mkdir()
        # Tools that must never run (or never with refused arguments) leave a file here.
        os.environ["CODEACT_CORPUS_CANARY_DIR"] = str(self.directory)
        self.connections = 0
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        self.pid = os.getpid()
        self.cwd = os.getcwd()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            connection.close()

    @property
    def values(self) -> dict[str, str]:
        return {"{SECRET_FILE}": str(self.secret_file), "{CANARY_DIR}": str(self.directory),
                "{CANARY_PORT}": str(self.port), "{PARENT_PID}": str(self.pid),
                "{SECRET_ENV}": self.env_name}

    def breaches(self, result: RunResult) -> list[str]:
        seen = "\n".join([result.stdout, result.stderr, json.dumps(result.value, default=str),
                          result.traceback or "", *(d.message for d in result.diagnostics)])
        found = []
        if self.file_secret in seen:
            found.append("read the secret file")
        if self.env_secret in seen:
            found.append("read the host environment secret")
        if any(self.directory.iterdir()):
            found.append("created files: " + ", ".join(p.name for p in self.directory.iterdir()))
            for path in self.directory.iterdir():
                path.unlink()
        if self.connections:
            found.append(f"{self.connections} connection(s) reached the canary port")
            self.connections = 0
        if self.secret_file.read_text() != self.file_secret:
            found.append("changed the secret file")
        if os.getpid() != self.pid or os.getcwd() != self.cwd:
            found.append("changed the parent process")
        if os.environ.get(self.env_name) != self.env_secret:
            found.append("changed the parent's environment")
        return found

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()
        os.environ.pop(self.env_name, None)
        os.environ.pop("CODEACT_CORPUS_CANARY_DIR", None)


@pytest.fixture(scope="module")
def canaries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Canaries]:
    tripwires = Canaries(tmp_path_factory.mktemp("canaries"))
    yield tripwires
    tripwires.close()


class Engines:
    """The full pipeline and the sandbox alone, per corpus policy, made when first needed
    (the data policy's engines load numpy and pandas)."""

    FILES = {"default": "policy.toml", "data": "policy_data.toml"}

    def __init__(self) -> None:
        self.registry = load_tools("tests.security.toolset")
        self.made: dict[str, tuple[Engine, Engine]] = {}

    def __getitem__(self, name: str) -> tuple[Engine, Engine]:
        if name not in self.made:
            policy = Policy.load(HERE / self.FILES[name])
            full = Engine(self.registry, policy)
            full.warm_up()
            self.made[name] = (full, Engine(self.registry, policy, check_policy=False,
                                            check_types=False))
        return self.made[name]

    def close(self) -> None:
        for full, bare in self.made.values():
            full.close()
            bare.close()


@pytest.fixture(scope="module")
def engines(canaries: Canaries) -> Iterator[Engines]:
    made = Engines()
    yield made
    made.close()


def _describe(result: RunResult) -> str:
    codes = [d.code for d in result.diagnostics if d.severity is Severity.ERROR]
    if not result.executed:
        stage = result.check.failed_stage.value if result.check and result.check.failed_stage \
            else "check"
        return f"blocked:{stage}:{','.join(codes)}"
    if result.ok:
        return "harmless"
    kind = "killed" if KILL_CODES & set(codes) else "error"
    return f"{kind}:{','.join(codes)}"


def test_corpus_is_large_and_covers_every_category() -> None:
    assert len(ATTACKS) >= 300
    from typing import get_args

    from tests.security.corpus_model import Category

    per_category = {c: sum(a.category == c for a in ATTACKS) for c in get_args(Category)}
    assert all(count >= 10 for count in per_category.values()), per_category


_INTERNALS = re.compile(r"__\w+__")


def probe(session: Session) -> bool:
    """Did the session run exactly this snippet? Its tool call is seen by the parent."""
    marker = "probe-" + secrets.token_hex(6)
    a, b = secrets.randbelow(10**6), secrets.randbelow(10**6)
    result = session.run(f"print({marker!r})\nfinal_answer(add({a}, {b}))")
    return (result.ok and result.stdout == marker + "\n" and result.stderr == ""
            and result.value == a + b and result.final
            and [c.tool for c in result.tool_calls] == ["add"])


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.id for a in ATTACKS])
def test_attack(attack: Attack, engines: Engines, canaries: Canaries) -> None:
    if attack.policy == "data":
        pytest.importorskip("pandas")
    full, bare = engines[attack.policy]
    source = attack.render(canaries.values)
    outcome = OUTCOMES.setdefault(attack.id, Outcome(attack))

    # (1) the full pipeline, and (2) the static checks alone: the same check
    with full.session() as session:
        result = session.run(source)
        outcome.probe_full = probe(session)
    outcome.full = _describe(result)
    outcome.escapes += [f"full pipeline: {b}" for b in canaries.breaches(result)]
    outcome.static_passed = result.check is not None and result.check.ok
    # (3) the sandbox alone
    with bare.session() as session:
        unchecked = session.run(source)
        outcome.probe_bare = probe(session)
    # Without static checks only parsing stands before the sandbox: what it refuses counts
    # as the snippet failing, as it would at run time.
    outcome.bare = _describe(unchecked).replace("blocked:parse", "error", 1)
    outcome.escapes += [f"sandbox only: {b}" for b in canaries.breaches(unchecked)]

    assert not outcome.escapes, outcome.escapes
    assert outcome.probe_full, "the next snippet did not run as checked (full pipeline)"
    if not _INTERNALS.search(source):
        assert outcome.probe_bare, "the next snippet did not run as sent (sandbox only)"
    codes = {d.code for d in result.diagnostics}
    if attack.expect_stage == "runtime":
        assert result.executed, f"expected to run, got {outcome.full}"
    else:
        assert not result.executed and result.check is not None
        assert result.check.failed_stage is not None
        assert result.check.failed_stage.value == attack.expect_stage, outcome.full
    assert all(found(alternatives, codes) for alternatives in attack.expect_codes), \
        (attack.expect_codes, outcome.full)
    assert outcome.bare.split(":")[0] == attack.sandbox, outcome.bare
    bare_codes = {d.code for d in unchecked.diagnostics}
    assert all(found(alternatives, bare_codes) for alternatives in attack.sandbox_codes), \
        outcome.bare


def found(alternatives: str, codes: set[str]) -> bool:
    """An expected code, or one of several written ``"R203|R201"``."""
    return bool(set(alternatives.split("|")) & codes)

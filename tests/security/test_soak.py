"""Soak: 10,000 snippets in one engine, mixed good, refused, failing and timing out.

The parent's descriptors, threads and memory stay flat; no zombie or orphaned process is left;
every result is accounted for.
"""

from __future__ import annotations

import gc
import os
import resource
import threading
import time
from collections import Counter

import pytest

from engine import Engine, Policy, RunResult, load_tools
from engine.checkpool import close_unused_pools
from engine.sandbox.limits import unavailable_reason
from engine.sandbox.zygote import Zygote

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason="seccomp unavailable")

SNIPPETS = 10_000
PER_SESSION = 100
TIMEOUT = 0.25

MIX = [  # (kind, source); the kind is what the result must show
    ("good", "v = add(i, 1)\nprint(v)"),
    ("good", "r = get_record(i)\nfinal_answer(r.owner)"),
    ("good", "import math\nw = math.floor(i / 3)"),
    ("good", "names = [lookup(k) for k in ('alpha', 'beta', 'gamma')]"),
    ("good", "print(sum(range(i)))"),
    ("good", "total = sum(add(j, j) for j in range(5))"),
    ("refused", "import os"),
    ("refused", "x = ().__class__"),
    ("failed", "print(1 / 0)"),
    ("failed", "fail('on purpose')"),
]


def _kind(result: RunResult) -> str:
    if not result.executed:
        return "refused"
    if result.ok:
        return "good"
    if any(d.code == "R201" for d in result.diagnostics):
        return "timeout"
    return "failed"


def _children(pid: int) -> list[tuple[int, str]]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append((int(entry), fields[0]))
    return found


def _settled(zygote: Zygote) -> None:
    """Wait until the zygote's spare child is made (its fds and thread come and go)."""
    deadline = time.monotonic() + 10
    while (zygote._refilling or zygote._spare is None) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_ten_thousand_snippets() -> None:
    base = Policy.load("tests/security/policy.toml")
    policy = base.model_copy(update={"limits": base.limits.model_copy(
        update={"timeout_seconds": TIMEOUT})})
    engine = Engine(load_tools("tests.security.toolset"), policy, check_types=False)
    close_unused_pools()  # other tests' idle check workers must not come and go meanwhile
    zygote = engine._zygote()
    expected: Counter[str] = Counter()
    observed: Counter[str] = Counter()
    baseline: tuple[int, int, int] | None = None
    try:
        for first in range(0, SNIPPETS, PER_SESSION):
            with engine.session() as session:
                session.run("i = 0")
                for i in range(first, first + PER_SESSION - 1):
                    if i == first + PER_SESSION // 2 and (first // PER_SESSION) % 2:
                        kind, source = "timeout", "while True:\n    pass"  # 50 in all
                    else:
                        kind, source = MIX[i % len(MIX)]
                    result = session.run(source)
                    expected[kind] += 1
                    observed[_kind(result)] += 1
                expected["good"] += 1
                observed["good"] += 1  # the `i = 0` of each session
                assert len(_children(zygote.pid)) <= 2  # the session's and the spare
            if first == 10 * PER_SESSION:
                _settled(zygote)
                gc.collect()
                close_unused_pools()  # engines of earlier tests, collected just now
                baseline = (len(os.listdir("/proc/self/fd")), threading.active_count(),
                            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        _settled(zygote)
        gc.collect()
        close_unused_pools()
        assert baseline is not None
        fds, threads, rss = baseline
        assert len(os.listdir("/proc/self/fd")) == fds
        assert threading.active_count() == threads
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 40_000  # KiB
        assert sum(observed.values()) == SNIPPETS
        assert observed == expected, (observed, expected)
        children = _children(zygote.pid)
        assert not [pid for pid, state in children if state == "Z"], children
    finally:
        engine.close()
    assert not _children(zygote.pid)
    assert not zygote.alive()

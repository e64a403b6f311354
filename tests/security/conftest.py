"""Prints the corpus table at the end of a run that included the corpus; engines on the
default policy for the security tests, one layer switched off at a time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from engine import Engine


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.security.test_corpus import OUTCOMES

    if not OUTCOMES:
        return
    outcomes = list(OUTCOMES.values())
    write = terminalreporter.write_line
    terminalreporter.section("escape corpus")
    full = Counter(o.full.split(":")[0] + (":" + o.full.split(":")[1]
                                           if o.full.startswith("blocked") else "")
                   for o in outcomes)
    bare = Counter(o.bare.split(":")[0] for o in outcomes)
    gaps = sorted(o.attack.id for o in outcomes if o.static_passed)
    escapes = [(o.attack.id, e) for o in outcomes for e in o.escapes]
    write(f"attacks: {len(outcomes)} in {len({o.attack.category for o in outcomes})} categories")
    write("")
    write(f"{'mode':<34}{'outcome':<28}{'count':>6}")
    for key, count in sorted(full.items()):
        write(f"{'(1) full pipeline':<34}{key:<28}{count:>6}")
    write(f"{'(2) static checks only':<34}{'blocked':<28}{len(outcomes) - len(gaps):>6}")
    write(f"{'(2) static checks only':<34}{'passed (known static gap)':<28}{len(gaps):>6}")
    for key, count in sorted(bare.items()):
        write(f"{'(3) sandbox only':<34}{key:<28}{count:>6}")
    write(f"{'escapes (modes 1 and 3)':<34}{'':<28}{len(escapes):>6}")
    broken_full = sorted(o.attack.id for o in outcomes if not o.probe_full)
    broken_bare = sorted(o.attack.id for o in outcomes if not o.probe_bare)
    write(f"{'next snippet not as checked (1)':<34}{'':<28}{len(broken_full):>6}")
    write(f"{'next snippet not as sent (3)':<34}{'(with interpreter internals)':<28}"
          f"{len(broken_bare):>6}")
    if gaps:
        write("")
        write("known static gaps (contained by the sandbox): " + ", ".join(gaps))
    if broken_bare:
        write("")
        write("sandbox only, the loop changed by introspection (the static layer refuses "
              "these): " + ", ".join(broken_bare))
    for attack_id, escape in escapes:
        write(f"ESCAPE {attack_id}: {escape}")


# Engines on the default policy, one per test module, a layer at a time.
@pytest.fixture(scope="module")
def full() -> Iterator[Engine]:
    with Engine((), "default") as made:
        yield made


@pytest.fixture(scope="module")
def policy_only() -> Iterator[Engine]:
    with Engine((), "default", check_types=False) as made:
        yield made


@pytest.fixture(scope="module")
def bare() -> Iterator[Engine]:
    with Engine((), "default", check_policy=False, check_types=False) as made:
        yield made

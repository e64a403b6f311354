"""A tool whose work is pure Python in the host: what one process's GIL serialises."""

from __future__ import annotations

from engine import tool


@tool
def crunch(seed: int, rounds: int = 1_000_000) -> int:
    """Mix ``seed`` for ``rounds`` rounds (about 50 ms of Python on one core)."""
    value = seed
    for i in range(rounds):
        value = (value * 31 + i) % 1_000_003
    return value


TOOLS = [crunch]

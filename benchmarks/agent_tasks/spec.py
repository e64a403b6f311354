"""What a task is: an instruction over a toolset, with an answer computed, never typed in."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Category = Literal["loop", "branch", "compose", "aggregate", "nested", "multistep"]
CATEGORIES: tuple[Category, ...] = ("loop", "branch", "compose", "aggregate", "nested",
                                    "multistep")


@dataclass(frozen=True)
class Task:
    id: str
    category: Category
    toolset: str  # an importable module whose TOOLS the agent gets, e.g. examples.toolsets.users
    instruction: str
    reference: Callable[[], Any]  # the expected answer, computed from the toolset's own data
    solution: str  # a correct CodeAct snippet ending in final_answer(...): the scripted model
    json_calls: tuple[tuple[str, dict[str, Any]], ...] = ()  # a scripted JSON-mode run's calls
    reset: Callable[[], None] | None = None  # restore mutable toolset state before each run
    policy: str = "default"  # the bundled policy the engine runs it under ("data": pandas)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", ""))
        except ValueError:
            return None
    return None


def answers_match(expected: Any, got: Any) -> bool:
    """Exact match, forgiving only representation: 3 == 3.0 == "3", case and spaces of text,
    tuples as lists, and numbers to 2 decimals."""
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected is got or str(expected).lower() == str(got).strip().lower()
    left, right = _number(expected), _number(got)
    if left is not None and right is not None:
        return math.isclose(round(left, 2), round(right, 2), abs_tol=1e-9)
    if isinstance(expected, str) and isinstance(got, str):
        return expected.strip().casefold() == got.strip().strip(".").casefold()
    if isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple)):
        return len(expected) == len(got) and all(answers_match(a, b)
                                                 for a, b in zip(expected, got, strict=True))
    if isinstance(expected, dict) and isinstance(got, dict):
        return expected.keys() == got.keys() and all(answers_match(expected[k], got[k])
                                                     for k in expected)
    return bool(expected == got)

"""The agent task suite: well formed, and every scripted solution reaches its reference answer
through the real engine (default policy, type check, sandboxed run)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

import pytest

from benchmarks.agent_tasks.spec import CATEGORIES, Task, answers_match
from benchmarks.agent_tasks.tasks import TASKS
from engine import Engine, ToolRegistry, load_tools

TOOLSETS = sorted({t.toolset for t in TASKS})
MUTATING = re.compile(r"\b(deactivate|activate|restock|cancel_order|book)\(")


def test_there_are_enough_tasks_with_unique_ids() -> None:
    assert len(TASKS) >= 44
    ids = [t.id for t in TASKS]
    assert len(set(ids)) == len(ids), [i for i, n in Counter(ids).items() if n > 1]
    for task in TASKS:
        assert task.id.startswith(f"{task.category}-"), task.id
        assert task.id == task.id.lower() and " " not in task.id and "_" not in task.id


def test_every_category_has_at_least_six_tasks() -> None:
    counts = Counter(t.category for t in TASKS)
    assert set(counts) == set(CATEGORIES)
    assert all(counts[c] >= 6 for c in CATEGORIES), counts


def test_every_example_toolset_is_used() -> None:
    for name in ("users", "company", "phones", "orders", "clues", "flights"):
        assert f"examples.toolsets.{name}" in TOOLSETS


def test_tasks_that_change_state_reset_it() -> None:
    for task in TASKS:
        if MUTATING.search(task.solution):
            assert task.reset is not None, f"{task.id} changes its toolset's state"


@pytest.fixture(scope="module")
def registries() -> dict[str, ToolRegistry]:
    return {toolset: load_tools(toolset) for toolset in TOOLSETS}


def test_json_calls_name_tools_with_valid_arguments(registries: dict[str, ToolRegistry]) -> None:
    for task in TASKS:
        registry = registries[task.toolset]
        assert 1 <= len(task.json_calls) <= 3, task.id
        for name, arguments in task.json_calls:
            assert name in registry, f"{task.id}: {name} is not a tool of {task.toolset}"
            registry[name].validate_arguments([], arguments)


def test_solutions_end_with_final_answer() -> None:
    for task in TASKS:
        assert "final_answer(" in task.solution.strip().splitlines()[-1], task.id


@pytest.fixture(scope="module")
def engines(registries: dict[str, ToolRegistry]) -> Iterator[dict[str, Engine]]:
    made = {f"{toolset}:{policy}": Engine(registries[toolset], policy)
            for toolset, policy in sorted({(t.toolset, t.policy) for t in TASKS})}
    yield made
    for engine in made.values():
        engine.close()


@pytest.mark.parametrize("task", TASKS, ids=[t.id for t in TASKS])
def test_solution_reaches_the_reference_answer(task: Task, engines: dict[str, Engine]) -> None:
    if task.reset is not None:
        task.reset()
    try:
        result = engines[f"{task.toolset}:{task.policy}"].run(task.solution)
    finally:
        if task.reset is not None:
            task.reset()
    expected = task.reference()
    assert result.ok, [(d.code, d.line, d.message) for d in result.diagnostics]
    assert result.final, result.stdout
    assert answers_match(expected, result.value), (expected, result.value)
    if task.reset is not None:
        task.reset()

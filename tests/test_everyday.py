"""The everyday corpus is correct, deterministic plain Python, and its benchmark runs.

The corpus measures false refusals, so a snippet that fails or varies under plain CPython
would count against the engine wrongly. All snippets run in one subprocess per hash seed, each
in its own namespace with its stdout captured, to keep this fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.everyday.corpus import SNIPPETS, Snippet

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "everyday" / "run.py"
CORPUS = ROOT / "benchmarks" / "everyday" / "corpus.py"

# Runs every snippet as __main__ in a fresh namespace; prints a JSON map id -> result.
RUNNER = """
import contextlib, importlib.util, io, json, sys, traceback
spec = importlib.util.spec_from_file_location("everyday_corpus", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["everyday_corpus"] = module
spec.loader.exec_module(module)
results = {}
for snippet in module.SNIPPETS:
    out = io.StringIO()
    error = None
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(snippet.code, snippet.id, "exec"), {"__name__": "__main__"})
    except BaseException:
        error = traceback.format_exc(limit=-3)
    results[snippet.id] = {"stdout": out.getvalue(), "error": error}
sys.__stdout__.write(json.dumps(results))
"""


def load_corpus() -> list[Snippet]:
    return list(SNIPPETS)


def run_all(seed: str) -> dict[str, dict[str, str | None]]:
    proc = subprocess.run([sys.executable, "-I", "-c", RUNNER, str(CORPUS)],
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONHASHSEED": seed}, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr  # no warnings either
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def snippets() -> list[Snippet]:
    return load_corpus()


@pytest.fixture(scope="module")
def reference_runs() -> tuple[dict, dict]:
    return run_all("0"), run_all("4242")


def test_corpus_shape(snippets: list) -> None:
    assert len(snippets) >= 220
    ids = [s.id for s in snippets]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    per_category = Counter(s.category for s in snippets)
    small = {c: n for c, n in per_category.items() if n < 10}
    assert not small, small
    for s in snippets:
        assert s.id.startswith(f"{s.category}/")
        assert s.code.endswith("\n") and "print(" in s.code


def test_every_snippet_runs_under_cpython(snippets: list, reference_runs: tuple) -> None:
    first, _ = reference_runs
    broken = {i: r["error"] for i, r in first.items() if r["error"]}
    assert not broken, broken
    silent = [i for i, r in first.items() if not r["stdout"].strip()]
    assert not silent, silent
    assert set(first) == {s.id for s in snippets}


def test_every_snippet_is_deterministic(reference_runs: tuple) -> None:
    first, second = reference_runs
    differ = [i for i in first if first[i]["stdout"] != second[i]["stdout"]]
    assert not differ, differ


def test_a_snippet_in_its_own_process_matches(snippets: list, reference_runs: tuple) -> None:
    """The shared-process runner agrees with the benchmark's `python -I -c` reference."""
    first, _ = reference_runs
    for snippet in snippets[::40]:
        proc = subprocess.run([sys.executable, "-I", "-c", snippet.code], capture_output=True,
                              text=True, timeout=10, env={"PYTHONHASHSEED": "0"}, check=False)
        assert proc.returncode == 0, (snippet.id, proc.stderr)
        assert proc.stdout == first[snippet.id]["stdout"], snippet.id


def test_benchmark_runs_end_to_end(snippets: list, tmp_path: Path) -> None:
    from engine.sandbox.limits import unavailable_reason

    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"the sandbox cannot run here: {reason}")
    out = tmp_path / "strings.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--category", "strings",
                           "--json", str(out)], capture_output=True, text=True, timeout=120,
                          check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "accepted and correct" in proc.stdout
    report = json.loads(out.read_text())
    expected = sorted(s.id for s in snippets if s.category == "strings")
    assert sorted(o["id"] for o in report["outcomes"]) == expected
    assert report["snippets"] == len(expected)
    assert all(o["outcome"] for o in report["outcomes"])
    assert report["correct"] == sum(o["outcome"] == "correct" for o in report["outcomes"])


def test_the_outside_yardstick_runs_both_interpreters(tmp_path: Path) -> None:
    """benchmarks/everyday/yardstick.py on a small file in the shape of smolagents' tests."""
    fake = tmp_path / "test_local_python_executor.py"
    fake.write_text(
        "import pytest\n"
        "def test_a():\n"
        "    evaluate_python_code('x = 3', {}, state={})\n"
        "def test_b():\n"
        "    code = 'import os\\nos.getcwd()'\n"
        "@pytest.mark.parametrize('code,expected', [('sorted({3, 1})', [1, 3])])\n"
        "def test_c(code, expected):\n"
        "    pass\n")
    script = ROOT / "benchmarks" / "everyday" / "yardstick.py"
    done = subprocess.run([sys.executable, str(script), str(fake)], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "3/3" in done.stdout  # 3 = 3, os refused by both, the sorted list equal

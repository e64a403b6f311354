"""The code catalog is complete: every emitted code is listed, with title, text and hint."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import CATALOG, Engine, Severity, Stage, codes, load_tools

ROOT = Path(__file__).resolve().parent.parent


def test_every_entry_is_complete_and_stable_shaped() -> None:
    prefixes = {Stage.PARSE: "S", Stage.POLICY: "P", Stage.TYPES: "T", Stage.RUNTIME: "R",
                Stage.EXTRACT: "X"}
    rules: set[tuple[Stage, str]] = set()
    for code, entry in CATALOG.items():
        assert re.fullmatch(r"[SPTRX]\d{3}", code), code
        assert code.startswith(prefixes[entry.stage])
        assert re.fullmatch(r"[a-z][a-z-]*", entry.rule), entry.rule
        assert entry.title and entry.explanation and entry.hint, code
        assert (entry.stage, entry.rule) not in rules, f"duplicate rule {entry.rule}"
        rules.add((entry.stage, entry.rule))


def test_the_code_type_is_the_catalog() -> None:
    """Every diagnostic is built from a ``CodeName`` (``codes.diagnostic``), which mypy checks
    against this list: a code the package emits is a code of the catalog."""
    assert list(typing.get_args(codes.CodeName)) == list(CATALOG)


def test_the_reportable_codes_are_runtime_codes() -> None:
    from engine.execution import REPORTABLE_CODES

    assert {c for c, e in CATALOG.items() if e.reportable} == REPORTABLE_CODES
    assert all(CATALOG[c].stage is Stage.RUNTIME for c in REPORTABLE_CODES)
    assert {"R101", "R214", "R216"} <= REPORTABLE_CODES
    assert "R211" not in REPORTABLE_CODES  # a protocol violation is the parent's to say


EXAMPLES = [entry for entry in CATALOG.values() if entry.example is not None]


@pytest.fixture(scope="module")
def engines() -> Iterator[dict[str, Engine]]:
    made: dict[str, Engine] = {}
    yield made
    for eng in made.values():
        eng.close()


@pytest.mark.parametrize("entry", EXAMPLES, ids=[e.code for e in EXAMPLES])
def test_each_example_emits_its_code(engines: dict[str, Engine], entry: codes.Code) -> None:
    assert entry.example is not None
    if entry.example_policy not in engines:
        engines[entry.example_policy] = Engine(load_tools("examples.toolsets.users"),
                                               entry.example_policy)
    engine = engines[entry.example_policy]
    if entry.stage is Stage.RUNTIME:
        found = engine.run(entry.example).diagnostics
    else:
        found = engine.check(entry.example).diagnostics
    assert entry.code in [d.code for d in found], (entry.example, found)


def test_a_diagnostic_is_built_from_its_code() -> None:
    made = codes.diagnostic("P101", "module `os` cannot be imported", source="x = 1\nimport os",
                            line=2, column=8)
    assert (made.stage, made.rule, made.hint) == (Stage.POLICY, "import-not-allowed",
                                                  CATALOG["P101"].hint)
    assert made.source_line == "import os" and made.severity is Severity.ERROR
    assert codes.diagnostic("P101", "m", hint="other").hint == "other"


def test_unknown_mypy_codes_fall_back_to_t199() -> None:
    assert codes.for_rule(Stage.TYPES, "arg-type").code == "T101"
    assert codes.for_rule(Stage.TYPES, "some-new-mypy-code").code == "T199"


def test_lookup_by_code_or_rule() -> None:
    assert codes.lookup("p120") is CATALOG["P120"]
    assert codes.lookup("dunder-attribute") is CATALOG["P120"]
    assert codes.lookup("nothing") is None

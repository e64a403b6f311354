"""The code catalog is complete: every emitted code is listed, with title, text and hint."""

from __future__ import annotations

import re
from pathlib import Path

from engine import CATALOG, Stage, codes

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


def test_every_code_the_package_emits_is_catalogued() -> None:
    emitted: set[str] = set()
    for path in (ROOT / "engine").rglob("*.py"):
        text = path.read_text()
        emitted |= set(re.findall(r'codes\.get\("([SPTRX]\d{3})"\)', text))
        emitted |= set(re.findall(r'\.add\(\s*[\w.]+,\s*"([SPTRX]\d{3})"', text))
    assert emitted, "the scan found nothing: the pattern is stale"
    assert emitted <= set(CATALOG), emitted - set(CATALOG)


def test_unknown_mypy_codes_fall_back_to_t199() -> None:
    assert codes.for_rule(Stage.TYPES, "arg-type").code == "T101"
    assert codes.for_rule(Stage.TYPES, "some-new-mypy-code").code == "T199"


def test_lookup_by_code_or_rule() -> None:
    assert codes.lookup("p120") is CATALOG["P120"]
    assert codes.lookup("dunder-attribute") is CATALOG["P120"]
    assert codes.lookup("nothing") is None

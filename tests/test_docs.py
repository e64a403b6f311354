"""Generated reference pages are fresh: they are regenerated from the code and compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.docgen import PAGES

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_generated_page_is_fresh(name: str) -> None:
    assert (DOCS / name).read_text() == PAGES[name]() + "\n", (
        f"docs/{name} is stale: run `python -m engine.docgen docs/`")

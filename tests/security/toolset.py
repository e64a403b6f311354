"""Tools the security corpus attacks through: small, typed, and observable from the host."""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import BaseModel

from engine import tool

CALLS: list[tuple[str, object]] = []


class Record(BaseModel):
    """A stored record."""

    id: int
    owner: str
    tags: list[str]


@tool
def lookup(key: str) -> str:
    """Return the value stored under a key ("" if none)."""
    CALLS.append(("lookup", key))
    return {"alpha": "1", "beta": "2"}.get(key, "")


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    CALLS.append(("add", (a, b)))
    return a + b


@tool
def get_record(record_id: int) -> Record:
    """Fetch one record."""
    CALLS.append(("get_record", record_id))
    return Record(id=record_id, owner=f"user{record_id}", tags=["a", "b"])


@tool
def store(record: Record) -> bool:
    """Store a record."""
    CALLS.append(("store", record.id))
    return True


@tool
def fail(message: str) -> str:
    """Always raises on the trusted side."""
    raise RuntimeError(message)


def _tripwire(name: str) -> None:
    """A file in the corpus's canary directory: the host sees it as a breach."""
    directory = os.environ.get("CODEACT_CORPUS_CANARY_DIR")
    if directory:
        (Path(directory) / name).write_text("a tool the policy refuses ran")


@tool
def wipe(key: str) -> bool:
    """Delete a key (the corpus policy denies this tool: if it ever runs, that is a breach)."""
    _tripwire(f"wipe-{len(key)}")
    return True


#: What tests/security/policy.toml allows as `send`'s `to` argument.
SEND_TO = re.compile(r"^[a-z]+@example\.com$")


@tool
def send(to: str) -> bool:
    """Send a message (the corpus policy allows only addresses at example.com, twice a
    snippet)."""
    if SEND_TO.search(to) is None:
        _tripwire("send-refused-address")
    CALLS.append(("send", to))
    return True


TOOLS = [lookup, add, get_record, store, fail, wipe, send]

"""Tools the security corpus attacks through: small, typed, and observable from the host."""

from __future__ import annotations

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


TOOLS = [lookup, add, get_record, store, fail]

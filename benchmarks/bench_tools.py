"""The tools every executor in `executors.py` gets: the same functions, called the same way."""

from __future__ import annotations

from pydantic import BaseModel

from engine import tool


class User(BaseModel):
    id: int
    name: str
    active: bool


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def get_user(user_id: int) -> User:
    """A user by id."""
    return User(id=user_id, name=f"user{user_id}", active=user_id % 3 != 0)


TOOLS = [add, get_user]

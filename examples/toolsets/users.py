"""A user directory of 10,000 users: the seed's "deactivate every inactive user" example.

The directory lives in the trusted process; snippets reach it only through the tools.
"""

from __future__ import annotations

import datetime
import random

from pydantic import BaseModel, Field

from engine import tool

_COUNTRIES = ("US", "IL", "DE", "FR", "IN", "BR", "JP", "GB")
_CITIES = {
    "US": "Austin", "IL": "Haifa", "DE": "Berlin", "FR": "Lyon",
    "IN": "Pune", "BR": "Recife", "JP": "Osaka", "GB": "Leeds",
}
_FIRST = (
    "Ada", "Ben", "Chen", "Dana", "Eli", "Fatima", "Gil", "Hana", "Ivan", "Jun", "Kofi", "Lea",
)
_LAST = ("Levi", "Smith", "Garcia", "Kim", "Cohen", "Okafor", "Silva", "Sato", "Novak", "Weber")


class Address(BaseModel):
    """Where a user lives."""

    street: str
    city: str
    country: str = Field(description="ISO 3166 alpha-2 country code, e.g. 'IL'")


class User(BaseModel):
    """A user account."""

    id: int
    name: str
    email: str
    active: bool
    address: Address
    last_login: datetime.date


class Directory:
    """The in-memory store behind the tools; deterministic for a given seed."""

    def __init__(self, size: int = 10_000, seed: int = 7) -> None:
        rng = random.Random(seed)
        start = datetime.date(2025, 1, 1)
        self.users: dict[int, User] = {}
        self.deactivated: list[int] = []  # every deactivate() call, for checking agents
        for i in range(1, size + 1):
            country = rng.choice(_COUNTRIES)
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            self.users[i] = User(
                id=i,
                name=f"{first} {last}",
                email=f"{first.lower()}.{last.lower()}{i}@example.com",
                active=rng.random() < 0.7,
                address=Address(street=f"{rng.randint(1, 200)} Main St", city=_CITIES[country],
                                country=country),
                last_login=start + datetime.timedelta(days=rng.randint(0, 364)),
            )


DIRECTORY = Directory()


def reset(size: int = 10_000, seed: int = 7) -> None:
    """Restore the directory to its initial state (tests and benchmarks call this)."""
    global DIRECTORY  # noqa: PLW0603 - the tools read the module's current directory
    DIRECTORY = Directory(size, seed)


@tool
def get_all_users() -> list[User]:
    """Return every user in the directory, active or not."""
    return list(DIRECTORY.users.values())


@tool
def get_user(user_id: int) -> User | None:
    """Return the user with this id, or None if there is none."""
    return DIRECTORY.users.get(user_id)


@tool
def deactivate(user_id: int) -> bool:
    """Deactivate a user's account. Returns False if the user does not exist."""
    user = DIRECTORY.users.get(user_id)
    if user is None:
        return False
    DIRECTORY.users[user_id] = user.model_copy(update={"active": False})
    DIRECTORY.deactivated.append(user_id)
    return True


@tool
def activate(user_id: int) -> bool:
    """Activate a user's account. Returns False if the user does not exist."""
    user = DIRECTORY.users.get(user_id)
    if user is None:
        return False
    DIRECTORY.users[user_id] = user.model_copy(update={"active": True})
    return True


@tool
def send_email(to: str, subject: str, body: str = "") -> bool:
    """Send an email to an address. Returns True when it was accepted."""
    return "@" in to and bool(subject)


TOOLS = [get_all_users, get_user, deactivate, activate, send_email]

"""A week of flights between 15 airports: the planning example (routes, connections, prices).

The schedule covers 2025-03-01 to 2025-03-07; every time is UTC. ``book`` takes seats, so
``reset()`` restores the initial state.
"""

from __future__ import annotations

import datetime
import math
import random

from pydantic import BaseModel, Field

from engine import tool


class Airport(BaseModel):
    """An airport served by the schedule."""

    code: str = Field(description="IATA code, e.g. 'TLV'")
    city: str
    country: str = Field(description="ISO 3166 alpha-2 country code")
    hub_of: str | None = Field(default=None, description="the airline based here, if any")


class Flight(BaseModel):
    """One scheduled flight. Flight numbers are unique over the whole week."""

    number: str
    airline: str
    origin: str = Field(description="IATA code of the departure airport")
    destination: str = Field(description="IATA code of the arrival airport")
    departs: datetime.datetime = Field(description="UTC")
    arrives: datetime.datetime = Field(description="UTC")
    price: float = Field(description="one economy seat, in USD")
    seats_left: int


_AIRPORTS = (
    ("TLV", "Tel Aviv", "IL", 32.0, 34.9), ("LHR", "London", "GB", 51.5, -0.5),
    ("CDG", "Paris", "FR", 49.0, 2.5), ("FRA", "Frankfurt", "DE", 50.0, 8.6),
    ("MAD", "Madrid", "ES", 40.5, -3.6), ("FCO", "Rome", "IT", 41.8, 12.2),
    ("ATH", "Athens", "GR", 37.9, 23.9), ("IST", "Istanbul", "TR", 41.3, 28.7),
    ("DXB", "Dubai", "AE", 25.3, 55.4), ("JFK", "New York", "US", 40.6, -73.8),
    ("BOS", "Boston", "US", 42.4, -71.0), ("ORD", "Chicago", "US", 42.0, -87.9),
    ("NRT", "Tokyo", "JP", 35.8, 140.4), ("BOM", "Mumbai", "IN", 19.1, 72.9),
    ("GRU", "Sao Paulo", "BR", -23.4, -46.5),
)
_AIRLINES = (("Aurora", "AU", "TLV"), ("Borealis", "BO", "FRA"), ("Cirrus", "CI", "JFK"),
             ("Dune", "DU", "DXB"), ("Ember", "EM", "MAD"))
FIRST_DAY = datetime.date(2025, 3, 1)
DAYS = 7


def _km(a: tuple[str, str, str, float, float], b: tuple[str, str, str, float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a[3], a[4], b[3], b[4]))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371 * math.asin(math.sqrt(h))


class Schedule:
    """The airports and the week's flights; deterministic for a given seed."""

    def __init__(self, seed: int = 5) -> None:
        rng = random.Random(seed)
        hubs = {hub: name for name, _, hub in _AIRLINES}
        self.airports = {
            code: Airport(code=code, city=city, country=country, hub_of=hubs.get(code))
            for code, city, country, _, _ in _AIRPORTS
        }
        where = {a[0]: a for a in _AIRPORTS}
        codes = [a[0] for a in _AIRPORTS]
        routes: set[tuple[str, str]] = set()
        for code in codes:
            for other in rng.sample([c for c in codes if c != code], 3):
                routes.update({(code, other), (other, code)})
        for _, _, hub in _AIRLINES:  # hubs are well connected
            for other in rng.sample([c for c in codes if c != hub], 5):
                routes.update({(hub, other), (other, hub)})
        self.flights: dict[str, Flight] = {}
        numbers: set[str] = set()
        for origin, destination in sorted(routes):
            km = _km(where[origin], where[destination])
            minutes = round((km / 800 * 60 + 40) / 5) * 5
            base = 40 + 0.085 * km
            airlines = [a for a in _AIRLINES if a[2] in (origin, destination)] or list(_AIRLINES)
            for slot in range(rng.randint(1, 3)):
                name, prefix, _ = rng.choice(airlines)
                hour, quarter = rng.randint(5, 22), rng.randint(0, 3)
                factor = rng.uniform(0.75, 1.35)
                for day in range(DAYS):
                    while True:
                        number = f"{prefix}{rng.randint(100, 9999)}"
                        if number not in numbers:
                            numbers.add(number)
                            break
                    departs = datetime.datetime.combine(
                        FIRST_DAY + datetime.timedelta(days=day),
                        datetime.time(hour, 15 * quarter)) + datetime.timedelta(minutes=slot)
                    self.flights[number] = Flight(
                        number=number, airline=name, origin=origin, destination=destination,
                        departs=departs, arrives=departs + datetime.timedelta(minutes=minutes),
                        price=round(base * factor * rng.uniform(0.85, 1.2), 2),
                        seats_left=rng.choice((0, rng.randint(1, 9), rng.randint(5, 60),
                                               rng.randint(5, 60))),
                    )


SCHEDULE = Schedule()


def reset(seed: int = 5) -> None:
    """Restore every seat (tests and benchmarks call this)."""
    global SCHEDULE  # noqa: PLW0603 - the tools read the module's current schedule
    SCHEDULE = Schedule(seed)


def _airport(code: str) -> Airport:
    if code not in SCHEDULE.airports:
        raise KeyError(f"no airport {code!r}; known: {sorted(SCHEDULE.airports)}")
    return SCHEDULE.airports[code]


@tool
def list_airports() -> list[Airport]:
    """Every airport in the schedule, by code."""
    return [SCHEDULE.airports[c] for c in sorted(SCHEDULE.airports)]


@tool
def get_airport(code: str) -> Airport:
    """The airport with this IATA code. Raises KeyError if it is not served."""
    return _airport(code)


@tool
def schedule_days() -> list[datetime.date]:
    """The days the schedule covers, in order."""
    return [FIRST_DAY + datetime.timedelta(days=d) for d in range(DAYS)]


@tool
def destinations(origin: str) -> list[str]:
    """IATA codes of the airports with a direct flight from `origin` (any day), sorted."""
    _airport(origin)
    return sorted({f.destination for f in SCHEDULE.flights.values() if f.origin == origin})


@tool
def flights_from(origin: str, day: datetime.date) -> list[Flight]:
    """Every flight leaving `origin` on `day` (UTC), by departure time, full ones included."""
    _airport(origin)
    found = [f for f in SCHEDULE.flights.values()
             if f.origin == origin and f.departs.date() == day]
    return sorted(found, key=lambda f: (f.departs, f.number))


@tool
def get_flight(number: str) -> Flight | None:
    """The flight with this number, or None if there is none."""
    return SCHEDULE.flights.get(number)


@tool
def book(number: str, seats: int = 1) -> int:
    """Book `seats` (>= 1) economy seats on a flight. Returns the seats left afterwards.

    Raises ValueError if the flight has fewer seats left, KeyError if there is no such flight.
    """
    flight = SCHEDULE.flights.get(number)
    if flight is None:
        raise KeyError(f"no flight {number!r}")
    if seats < 1:
        raise ValueError("seats must be at least 1")
    if flight.seats_left < seats:
        raise ValueError(f"flight {number} has only {flight.seats_left} seats left")
    updated = flight.model_copy(update={"seats_left": flight.seats_left - seats})
    SCHEDULE.flights[number] = updated
    return updated.seats_left


TOOLS = [list_airports, get_airport, schedule_days, destinations, flights_from, get_flight,
         book]

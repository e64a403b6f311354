"""A company with departments, employees and addresses: the seed's nested-types example."""

from __future__ import annotations

import random

from pydantic import BaseModel, Field

from engine import tool


class Address(BaseModel):
    street: str
    city: str
    country: str


class Employee(BaseModel):
    """A person on the payroll."""

    id: int
    name: str
    title: str
    salary: int = Field(description="yearly, in USD")
    address: Address
    manager_id: int | None = None


class Department(BaseModel):
    name: str
    budget: int = Field(description="yearly, in USD")
    employees: list[Employee]


class Company(BaseModel):
    """A company and its departments."""

    name: str
    founded: int
    departments: list[Department]


_TITLES = ("Engineer", "Analyst", "Designer", "Manager", "Technician", "Recruiter")
_CITIES = (("Haifa", "IL"), ("Tel Aviv", "IL"), ("Berlin", "DE"), ("Austin", "US"), ("Lyon", "FR"))


def _build(name: str, founded: int, departments: tuple[str, ...], seed: int) -> Company:
    rng = random.Random(seed)
    next_id = seed * 1000
    built = []
    for dept in departments:
        employees = []
        manager: int | None = None
        for _ in range(rng.randint(4, 12)):
            next_id += 1
            city, country = rng.choice(_CITIES)
            employees.append(Employee(
                id=next_id, name=f"Employee {next_id}", title=rng.choice(_TITLES),
                salary=rng.randrange(50_000, 200_000, 1_000),
                address=Address(street=f"{rng.randint(1, 99)} Harbor Rd", city=city,
                                country=country),
                manager_id=manager,
            ))
            manager = manager or next_id
        built.append(Department(name=dept, budget=rng.randrange(500_000, 5_000_000, 10_000),
                                employees=employees))
    return Company(name=name, founded=founded, departments=built)


COMPANIES = {
    "Acme": _build("Acme", 1999, ("Engineering", "Sales", "Support", "Research"), 1),
    "Globex": _build("Globex", 2011, ("Engineering", "Marketing", "Operations"), 2),
    "Initech": _build("Initech", 1994, ("Engineering", "Finance"), 3),
}


@tool
def list_companies() -> list[str]:
    """Names of all companies."""
    return sorted(COMPANIES)


@tool
def get_company(name: str) -> Company:
    """The company with this name, with all departments and employees."""
    if name not in COMPANIES:
        raise KeyError(f"no company named {name!r}; known: {sorted(COMPANIES)}")
    return COMPANIES[name]


@tool
def compute_happiness(employee: Employee) -> float:
    """A happiness score between 0 and 1 for an employee."""
    return round(min(1.0, employee.salary / 200_000 + (0.1 if employee.manager_id else 0.2)), 3)


TOOLS = [list_companies, get_company, compute_happiness]

"""Everyday, harmless Python of the kind a language model writes while solving a task.

Each snippet prints its result, is deterministic (no wall-clock values, no unseeded random, no
set iteration order of strings, no id()/hash() output) and runs under plain CPython 3.11 without
tools, files, network or input. `benchmarks/everyday/run.py` runs them through the engine to
measure false refusals; `tests/test_everyday.py` proves every one is correct plain Python.

Categories: classes, dataclasses, enums, context_managers, closures_and_lambdas,
comprehensions, strings, dates_and_time, math_and_stats, collections, itertools_functools,
exceptions, typing, sorting_and_keys, json_and_regex, recursion_and_algorithms,
unannotated_dicts_and_lists, and data (decimal, fractions, csv, difflib, copy: modules the
`data` policy adds to the default one).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Snippet:
    id: str
    category: str
    code: str


SNIPPETS: list[Snippet] = []


def _add(category: str, name: str, code: str) -> None:
    SNIPPETS.append(Snippet(f"{category}/{name}", category, code.strip("\n") + "\n"))


# --- classes

_add("classes", "point_repr_eq", r"""
class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __repr__(self):
        return f"Point({self.x}, {self.y})"

    def __eq__(self, other):
        if not isinstance(other, Point):
            return NotImplemented
        return self.x == other.x and self.y == other.y

    def distance_to(self, other):
        return ((self.x - other.x) ** 2 + (self.y - other.y) ** 2) ** 0.5


a = Point(0, 0)
b = Point(3, 4)
print(a, b)
print(a == Point(0, 0), a == b)
print(a.distance_to(b))
""")

_add("classes", "vector_operators", r"""
class Vector:
    def __init__(self, x: float, y: float) -> None:
        self.x = x
        self.y = y

    def __add__(self, other: "Vector") -> "Vector":
        return Vector(self.x + other.x, self.y + other.y)

    def __sub__(self, other: "Vector") -> "Vector":
        return Vector(self.x - other.x, self.y - other.y)

    def __mul__(self, k: float) -> "Vector":
        return Vector(self.x * k, self.y * k)

    def __abs__(self) -> float:
        return (self.x ** 2 + self.y ** 2) ** 0.5

    def __repr__(self) -> str:
        return f"Vector({self.x}, {self.y})"


v = Vector(1, 2) + Vector(2, 2)
print(v)
print(v - Vector(1, 1))
print(v * 2)
print(abs(Vector(6, 8)))
""")

_add("classes", "bank_account", r"""
class BankAccount:
    def __init__(self, owner, balance=0):
        self.owner = owner
        self.balance = balance
        self.history = []

    def deposit(self, amount):
        if amount <= 0:
            raise ValueError("deposit must be positive")
        self.balance += amount
        self.history.append(("deposit", amount))

    def withdraw(self, amount):
        if amount > self.balance:
            raise ValueError("insufficient funds")
        self.balance -= amount
        self.history.append(("withdraw", amount))


acct = BankAccount("Ada", 100)
acct.deposit(50)
acct.withdraw(30)
try:
    acct.withdraw(500)
except ValueError as e:
    print("error:", e)
print(acct.owner, acct.balance)
print(acct.history)
""")

_add("classes", "inheritance_super", r"""
class Animal:
    def __init__(self, name, sound):
        self.name = name
        self.sound = sound

    def speak(self):
        return f"{self.name} says {self.sound}"


class Dog(Animal):
    def __init__(self, name, breed):
        super().__init__(name, "woof")
        self.breed = breed

    def speak(self):
        return super().speak() + f" (a {self.breed})"


class Cat(Animal):
    def __init__(self, name):
        super().__init__(name, "meow")


for pet in [Dog("Rex", "beagle"), Cat("Tom")]:
    print(pet.speak())
print(isinstance(Dog("a", "b"), Animal))
""")

_add("classes", "class_attribute_counter", r"""
class Employee:
    company = "Acme"
    headcount = 0

    def __init__(self, name, salary):
        self.name = name
        self.salary = salary
        Employee.headcount += 1

    def raise_salary(self, percent):
        self.salary = round(self.salary * (1 + percent / 100))


staff = [Employee("Ann", 50000), Employee("Bob", 62000), Employee("Cy", 48000)]
staff[1].raise_salary(10)
print(Employee.headcount, Employee.company)
for e in staff:
    print(e.name, e.salary)
""")

_add("classes", "property_setter", r"""
class Temperature:
    def __init__(self, celsius=0.0):
        self._celsius = celsius

    @property
    def celsius(self):
        return self._celsius

    @celsius.setter
    def celsius(self, value):
        if value < -273.15:
            raise ValueError("below absolute zero")
        self._celsius = value

    @property
    def fahrenheit(self):
        return self._celsius * 9 / 5 + 32


t = Temperature(25)
print(t.celsius, t.fahrenheit)
t.celsius = 100
print(t.fahrenheit)
try:
    t.celsius = -300
except ValueError as exc:
    print("rejected:", exc)
""")

_add("classes", "static_and_class_methods", r"""
class Date:
    def __init__(self, year, month, day):
        self.year = year
        self.month = month
        self.day = day

    @classmethod
    def from_string(cls, text):
        year, month, day = (int(p) for p in text.split("-"))
        return cls(year, month, day)

    @staticmethod
    def is_leap(year):
        return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)

    def __str__(self):
        return f"{self.year:04d}/{self.month:02d}/{self.day:02d}"


d = Date.from_string("2024-03-07")
print(d)
print(Date.is_leap(2024), Date.is_leap(1900), Date.is_leap(2000))
""")

_add("classes", "str_vs_repr", r"""
class Book:
    def __init__(self, title, author, pages):
        self.title = title
        self.author = author
        self.pages = pages

    def __str__(self):
        return f"{self.title} by {self.author}"

    def __repr__(self):
        return f"Book({self.title!r}, {self.author!r}, {self.pages})"


b = Book("Dune", "Frank Herbert", 412)
print(b)
print(repr(b))
print([b])
print(f"{b} has {b.pages} pages")
""")

_add("classes", "stack_class", r"""
class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def pop(self):
        if not self.items:
            raise IndexError("pop from empty stack")
        return self.items.pop()

    def peek(self):
        return self.items[-1]

    def __len__(self):
        return len(self.items)


def balanced(text):
    pairs = {")": "(", "]": "[", "}": "{"}
    s = Stack()
    for ch in text:
        if ch in "([{":
            s.push(ch)
        elif ch in pairs:
            if len(s) == 0 or s.pop() != pairs[ch]:
                return False
    return len(s) == 0


for text in ["(a[b]{c})", "(]", "((", ""]:
    print(repr(text), balanced(text))
""")

_add("classes", "shape_polymorphism", r"""
import math


class Shape:
    def area(self):
        raise NotImplementedError

    def describe(self):
        return f"{type(self).__name__} with area {self.area():.2f}"


class Circle(Shape):
    def __init__(self, r):
        self.r = r

    def area(self):
        return math.pi * self.r ** 2


class Rectangle(Shape):
    def __init__(self, w, h):
        self.w = w
        self.h = h

    def area(self):
        return self.w * self.h


shapes = [Circle(1), Rectangle(2, 3), Circle(2.5)]
for s in shapes:
    print(s.describe())
print(round(sum(s.area() for s in shapes), 3))
""")

_add("classes", "ordering_total_ordering", r"""
from functools import total_ordering


@total_ordering
class Version:
    def __init__(self, text):
        self.parts = tuple(int(p) for p in text.split("."))

    def __eq__(self, other):
        return self.parts == other.parts

    def __lt__(self, other):
        return self.parts < other.parts

    def __repr__(self):
        return ".".join(str(p) for p in self.parts)


versions = [Version(v) for v in ["1.10.0", "1.2.3", "1.2.10", "0.9"]]
print(sorted(versions))
print(max(versions))
print(Version("2.0") >= Version("1.99"))
""")

_add("classes", "container_protocol", r"""
class Playlist:
    def __init__(self, name, songs):
        self.name = name
        self.songs = list(songs)

    def __len__(self):
        return len(self.songs)

    def __getitem__(self, index):
        return self.songs[index]

    def __contains__(self, song):
        return song in self.songs

    def __iter__(self):
        return iter(self.songs)


p = Playlist("road trip", ["Africa", "Hey Jude", "Roxanne"])
print(len(p), p[0], p[-1])
print("Roxanne" in p, "Yesterday" in p)
for i, song in enumerate(p, 1):
    print(i, song)
""")

_add("classes", "callable_instance", r"""
class Multiplier:
    def __init__(self, factor):
        self.factor = factor
        self.calls = 0

    def __call__(self, value):
        self.calls += 1
        return value * self.factor


triple = Multiplier(3)
print(triple(4), triple(10))
print(list(map(triple, [1, 2, 3])))
print("calls:", triple.calls)
""")

_add("classes", "linked_list", r"""
class Node:
    def __init__(self, value, next=None):
        self.value = value
        self.next = next


class LinkedList:
    def __init__(self):
        self.head = None

    def push_front(self, value):
        self.head = Node(value, self.head)

    def to_list(self):
        out = []
        node = self.head
        while node is not None:
            out.append(node.value)
            node = node.next
        return out

    def reverse(self):
        prev = None
        node = self.head
        while node:
            node.next, prev, node = prev, node, node.next
        self.head = prev


ll = LinkedList()
for v in [3, 2, 1]:
    ll.push_front(v)
print(ll.to_list())
ll.reverse()
print(ll.to_list())
""")

_add("classes", "matrix_mul", r"""
class Matrix:
    def __init__(self, rows):
        self.rows = rows

    def __mul__(self, other):
        cols = list(zip(*other.rows))
        return Matrix([[sum(a * b for a, b in zip(row, col)) for col in cols]
                       for row in self.rows])

    def __eq__(self, other):
        return self.rows == other.rows

    def __str__(self):
        return "\n".join(" ".join(f"{v:3}" for v in row) for row in self.rows)


a = Matrix([[1, 2], [3, 4]])
identity = Matrix([[1, 0], [0, 1]])
print(a * a)
print(a * identity == a)
""")

# --- dataclasses

_add("dataclasses", "basic", r"""
from dataclasses import dataclass


@dataclass
class Point:
    x: int
    y: int


p = Point(1, 2)
q = Point(1, 2)
print(p)
print(p == q, p is q)
p.x = 10
print(p.x + p.y)
""")

_add("dataclasses", "defaults_and_factory", r"""
from dataclasses import dataclass, field


@dataclass
class ShoppingCart:
    owner: str
    items: list[str] = field(default_factory=list)
    discount: float = 0.0

    def add(self, item: str) -> None:
        self.items.append(item)


a = ShoppingCart("ann")
b = ShoppingCart("bob", discount=0.1)
a.add("apple")
a.add("pear")
print(a)
print(b)
""")

_add("dataclasses", "frozen", r"""
import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Coordinate:
    lat: float
    lon: float


home = Coordinate(51.5, -0.12)
try:
    home.lat = 0.0
except dataclasses.FrozenInstanceError as e:
    print("cannot modify:", type(e).__name__)
places = {home: "London", Coordinate(48.85, 2.35): "Paris"}
print(places[Coordinate(51.5, -0.12)])
""")

_add("dataclasses", "order_true", r"""
from dataclasses import dataclass


@dataclass(order=True)
class Player:
    score: int
    name: str


players = [Player(30, "zed"), Player(45, "amy"), Player(30, "bob")]
for p in sorted(players, reverse=True):
    print(p.name, p.score)
print(min(players))
""")

_add("dataclasses", "post_init", r"""
from dataclasses import dataclass, field


@dataclass
class Rectangle:
    width: float
    height: float
    area: float = field(init=False)

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError("sides must be positive")
        self.area = self.width * self.height


r = Rectangle(3, 4.5)
print(r)
try:
    Rectangle(-1, 2)
except ValueError as e:
    print(e)
""")

_add("dataclasses", "asdict_astuple", r"""
from dataclasses import asdict, astuple, dataclass


@dataclass
class User:
    name: str
    age: int
    email: str


u = User("Grace", 36, "grace@example.com")
print(asdict(u))
print(astuple(u))
print(list(asdict(u).keys()))
""")

_add("dataclasses", "replace", r"""
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Config:
    host: str = "localhost"
    port: int = 8080
    debug: bool = False


base = Config()
prod = replace(base, host="example.com", port=443)
dev = replace(base, debug=True)
for c in (base, prod, dev):
    print(c)
""")

_add("dataclasses", "methods_inventory", r"""
from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float
    quantity: int = 1

    def total(self) -> float:
        return self.price * self.quantity


inventory = [Item("widget", 2.5, 10), Item("gadget", 12.0, 3), Item("doohickey", 0.75)]
for item in inventory:
    print(f"{item.name:<10} {item.total():>7.2f}")
print("grand total:", sum(i.total() for i in inventory))
""")

_add("dataclasses", "nested_to_json", r"""
import json
from dataclasses import asdict, dataclass, field


@dataclass
class Address:
    city: str
    country: str


@dataclass
class Person:
    name: str
    address: Address
    tags: list[str] = field(default_factory=list)


p = Person("Linus", Address("Helsinki", "FI"), ["kernel", "git"])
print(json.dumps(asdict(p)))
print(p.address.city)
""")

_add("dataclasses", "field_options", r"""
from dataclasses import dataclass, field


@dataclass
class Account:
    username: str
    password: str = field(repr=False)
    login_count: int = field(default=0, compare=False)


a = Account("root", "hunter2")
b = Account("root", "hunter2", login_count=5)
print(a)
print(a == b)
""")

_add("dataclasses", "inheritance", r"""
from dataclasses import dataclass


@dataclass
class Vehicle:
    make: str
    wheels: int = 4

    def describe(self) -> str:
        return f"{self.make} with {self.wheels} wheels"


@dataclass
class Truck(Vehicle):
    payload_tons: float = 1.0

    def describe(self) -> str:
        return super().describe() + f", carries {self.payload_tons} t"


print(Vehicle("Fiat").describe())
print(Truck("Volvo", 6, 12.5).describe())
print(Truck("Ford"))
""")

_add("dataclasses", "fields_introspection", r"""
from dataclasses import dataclass, fields


@dataclass
class Product:
    sku: str
    name: str
    price: float
    in_stock: bool = True


print([f.name for f in fields(Product)])
p = Product("A-1", "Lamp", 19.99)
for f in fields(p):
    print(f.name, "=", getattr(p, f.name))
""")

_add("dataclasses", "group_records", r"""
from dataclasses import dataclass


@dataclass
class Sale:
    region: str
    amount: float


sales = [Sale("north", 120.0), Sale("south", 80.5), Sale("north", 30.0), Sale("east", 99.9)]
totals: dict[str, float] = {}
for s in sales:
    totals[s.region] = totals.get(s.region, 0.0) + s.amount
for region in sorted(totals):
    print(region, totals[region])
best = max(sales, key=lambda s: s.amount)
print("largest:", best)
""")

_add("dataclasses", "classvar_and_slots", r"""
from dataclasses import dataclass
from typing import ClassVar


@dataclass(slots=True)
class Particle:
    count: ClassVar[int] = 0
    x: float
    y: float

    def moved(self, dx: float, dy: float) -> "Particle":
        return Particle(self.x + dx, self.y + dy)


p = Particle(0.0, 0.0).moved(1.5, -2.0)
print(p)
print(Particle.count)
""")

# --- enums

_add("enums", "basic", r"""
from enum import Enum


class Color(Enum):
    RED = 1
    GREEN = 2
    BLUE = 3


print(Color.RED)
print(Color.RED.name, Color.RED.value)
print([c.name for c in Color])
print(Color.GREEN == Color.GREEN, Color.GREEN == 2)
""")

_add("enums", "intenum", r"""
from enum import IntEnum


class Priority(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3


tasks = [("write docs", Priority.LOW), ("fix bug", Priority.HIGH), ("review", Priority.MEDIUM)]
for name, prio in sorted(tasks, key=lambda t: t[1], reverse=True):
    print(prio.name, name)
print(Priority.HIGH > Priority.LOW, Priority.MEDIUM + 1)
""")

_add("enums", "flag", r"""
from enum import Flag, auto


class Permission(Flag):
    READ = auto()
    WRITE = auto()
    EXECUTE = auto()


mode = Permission.READ | Permission.WRITE
print(Permission.READ in mode, Permission.EXECUTE in mode)
print(mode.value)
mode |= Permission.EXECUTE
print(mode == Permission.READ | Permission.WRITE | Permission.EXECUTE)
""")

_add("enums", "functional_api", r"""
from enum import Enum

Color = Enum("Color", "RED GREEN BLUE")
print([(c.name, c.value) for c in Color])
print(Color["GREEN"].value)
print(Color(3).name)
""")

_add("enums", "auto_values", r"""
from enum import Enum, auto


class Status(Enum):
    PENDING = auto()
    RUNNING = auto()
    DONE = auto()


for s in Status:
    print(s.name, s.value)
print(len(Status))
""")

_add("enums", "lookup_by_value_and_name", r"""
from enum import Enum


class HttpStatus(Enum):
    OK = 200
    NOT_FOUND = 404
    SERVER_ERROR = 500


code = 404
status = HttpStatus(code)
print(status.name)
print(HttpStatus["OK"].value)
try:
    HttpStatus(418)
except ValueError as e:
    print("unknown:", e)
""")

_add("enums", "methods_and_properties", r"""
from enum import Enum


class Planet(Enum):
    MERCURY = (3.303e23, 2.4397e6)
    EARTH = (5.976e24, 6.37814e6)

    def __init__(self, mass, radius):
        self.mass = mass
        self.radius = radius

    @property
    def surface_gravity(self):
        return 6.673e-11 * self.mass / (self.radius * self.radius)


for p in Planet:
    print(p.name, round(p.surface_gravity, 2))
""")

_add("enums", "dict_keys_counting", r"""
from enum import Enum


class Suit(Enum):
    HEARTS = "H"
    SPADES = "S"
    CLUBS = "C"
    DIAMONDS = "D"


hand = ["H", "S", "H", "D", "H", "C", "S"]
counts = {suit: 0 for suit in Suit}
for card in hand:
    counts[Suit(card)] += 1
for suit, n in counts.items():
    print(suit.name, n)
""")

_add("enums", "unique_and_aliases", r"""
from enum import Enum, unique


class Shape(Enum):
    SQUARE = 2
    DIAMOND = 1
    CIRCLE = 3
    ALIAS_FOR_SQUARE = 2


print(Shape.ALIAS_FOR_SQUARE is Shape.SQUARE)
print([s.name for s in Shape])

try:
    @unique
    class Mistake(Enum):
        ONE = 1
        UNO = 1
except ValueError as e:
    print("duplicate values rejected")
""")

_add("enums", "strenum", r"""
from enum import StrEnum


class Level(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    ERROR = "error"


print(Level.INFO == "info")
print(Level.ERROR.upper())
print(f"level={Level.DEBUG}")
print(sorted(level.value for level in Level))
""")

_add("enums", "match_statement", r"""
from enum import Enum


class Light(Enum):
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"


def next_light(light: Light) -> Light:
    match light:
        case Light.RED:
            return Light.GREEN
        case Light.GREEN:
            return Light.YELLOW
        case Light.YELLOW:
            return Light.RED


state = Light.RED
for _ in range(4):
    print(state.value)
    state = next_light(state)
""")

_add("enums", "intflag", r"""
from enum import IntFlag


class Style(IntFlag):
    BOLD = 1
    ITALIC = 2
    UNDERLINE = 4


s = Style.BOLD | Style.UNDERLINE
print(int(s))
print(bool(s & Style.ITALIC), bool(s & Style.BOLD))
print(Style(6) == Style.ITALIC | Style.UNDERLINE)
""")

_add("enums", "state_machine", r"""
from enum import Enum


class OrderState(Enum):
    NEW = "new"
    PAID = "paid"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


TRANSITIONS = {
    OrderState.NEW: [OrderState.PAID, OrderState.CANCELLED],
    OrderState.PAID: [OrderState.SHIPPED, OrderState.CANCELLED],
    OrderState.SHIPPED: [],
    OrderState.CANCELLED: [],
}


def can_move(a, b):
    return b in TRANSITIONS[a]


print(can_move(OrderState.NEW, OrderState.PAID))
print(can_move(OrderState.SHIPPED, OrderState.NEW))
print([s.value for s in TRANSITIONS[OrderState.PAID]])
""")

# --- context_managers

_add("context_managers", "tracker_class", r"""
class Tracker:
    def __init__(self, name, log):
        self.name = name
        self.log = log

    def __enter__(self):
        self.log.append(f"enter {self.name}")
        return self

    def __exit__(self, exc_type, exc, tb):
        self.log.append(f"exit {self.name}")
        return False


log = []
with Tracker("outer", log):
    with Tracker("inner", log):
        log.append("work")
print("\n".join(log))
""")

_add("context_managers", "suppressing_exit", r"""
class IgnoreZeroDivision:
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is ZeroDivisionError:
            print("ignored:", exc)
            return True
        return False


with IgnoreZeroDivision():
    print(10 / 2)
    print(1 / 0)
    print("never printed")
print("after the block")
""")

_add("context_managers", "contextlib_suppress", r"""
from contextlib import suppress

settings = {"theme": "dark"}
with suppress(KeyError):
    print(settings["language"])
print("still running")
with suppress(ValueError, TypeError):
    number = int("not a number")
print(settings)
""")

_add("context_managers", "contextmanager_decorator", r"""
from contextlib import contextmanager


@contextmanager
def tag(name):
    print(f"<{name}>")
    yield
    print(f"</{name}>")


with tag("html"):
    with tag("body"):
        print("hello")
""")

_add("context_managers", "exception_seen_by_exit", r"""
class Logger:
    def __init__(self):
        self.errors = []

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.errors.append(f"{exc_type.__name__}: {exc}")
        return False


logger = Logger()
try:
    with logger:
        int("abc")
except ValueError:
    print("re-raised to the caller")
print(logger.errors)
""")

_add("context_managers", "exit_stack", r"""
from contextlib import ExitStack


class Resource:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        print("open", self.name)
        return self

    def __exit__(self, *exc):
        print("close", self.name)
        return False


with ExitStack() as stack:
    resources = [stack.enter_context(Resource(n)) for n in ["a", "b", "c"]]
    print("using", [r.name for r in resources])
""")

_add("context_managers", "temporary_setting", r"""
config = {"verbose": False, "retries": 3}


class Override:
    def __init__(self, settings, **changes):
        self.settings = settings
        self.changes = changes
        self.saved = {}

    def __enter__(self):
        for key, value in self.changes.items():
            self.saved[key] = self.settings[key]
            self.settings[key] = value
        return self.settings

    def __exit__(self, exc_type, exc, tb):
        self.settings.update(self.saved)
        return False


with Override(config, verbose=True, retries=10) as c:
    print("inside:", c)
print("outside:", config)
""")

_add("context_managers", "redirect_stdout", r"""
import io
from contextlib import redirect_stdout

buffer = io.StringIO()
with redirect_stdout(buffer):
    print("captured line 1")
    print("captured line 2")
captured = buffer.getvalue()
print(len(captured.splitlines()), "lines captured")
print(captured.upper(), end="")
""")

_add("context_managers", "transaction_rollback", r"""
class Transaction:
    def __init__(self, data):
        self.data = data

    def __enter__(self):
        self.snapshot = dict(self.data)
        return self.data

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.data.clear()
            self.data.update(self.snapshot)
            print("rolled back after", exc_type.__name__)
            return True
        print("committed")
        return False


balances = {"alice": 100, "bob": 50}
with Transaction(balances) as b:
    b["alice"] -= 30
    b["bob"] += 30
with Transaction(balances) as b:
    b["alice"] -= 500
    if b["alice"] < 0:
        raise ValueError("overdraft")
print(balances)
""")

_add("context_managers", "indenter", r"""
class Indenter:
    def __init__(self):
        self.level = 0

    def __enter__(self):
        self.level += 1
        return self

    def __exit__(self, *args):
        self.level -= 1

    def say(self, text):
        print("    " * self.level + text)


with Indenter() as ind:
    ind.say("one")
    with ind:
        ind.say("two")
        with ind:
            ind.say("three")
    ind.say("back to one")
""")

_add("context_managers", "closing_and_nullcontext", r"""
from contextlib import closing, nullcontext


class Connection:
    def __init__(self, name):
        self.name = name
        self.open = True

    def query(self, q):
        return f"{self.name}: {q}"

    def close(self):
        self.open = False
        print("closed", self.name)


conn = Connection("db1")
with closing(conn) as c:
    print(c.query("SELECT 1"))
print("open?", conn.open)

with nullcontext(42) as value:
    print("value is", value)
""")

_add("context_managers", "timer_elapsed", r"""
import time


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.elapsed = time.perf_counter() - self.start
        return False


with Timer() as t:
    total = sum(i * i for i in range(10000))
print(total)
print(t.elapsed >= 0)
""")

# --- closures_and_lambdas

_add("closures_and_lambdas", "make_multiplier", r"""
def make_multiplier(n):
    def multiply(x):
        return x * n
    return multiply


double = make_multiplier(2)
triple = make_multiplier(3)
print(double(5), triple(5))
print([make_multiplier(k)(10) for k in range(4)])
""")

_add("closures_and_lambdas", "sorted_with_lambda", r"""
people = [("alice", 31), ("bob", 25), ("carol", 35), ("dave", 25)]
by_age = sorted(people, key=lambda p: p[1])
print(by_age)
by_age_then_name_desc = sorted(people, key=lambda p: (p[1], [-ord(c) for c in p[0]]))
print(by_age_then_name_desc)
oldest = max(people, key=lambda p: p[1])
print(oldest[0])
""")

_add("closures_and_lambdas", "map_filter", r"""
numbers = list(range(1, 11))
squares = list(map(lambda n: n * n, numbers))
evens = list(filter(lambda n: n % 2 == 0, numbers))
print(squares)
print(evens)
print(list(map(lambda a, b: a + b, [1, 2, 3], [10, 20, 30])))
""")

_add("closures_and_lambdas", "dispatch_table", r"""
operations = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}


def calculate(expr):
    left, op, right = expr.split()
    return operations[op](float(left), float(right))


for e in ["3 + 4", "10 / 4", "6 * 7", "1 - 9"]:
    print(e, "=", calculate(e))
""")

_add("closures_and_lambdas", "counting_decorator", r"""
def count_calls(func):
    counts = {"n": 0}

    def wrapper(*args, **kwargs):
        counts["n"] += 1
        print(f"call #{counts['n']} with {args}")
        return func(*args, **kwargs)

    return wrapper


@count_calls
def add(a, b):
    return a + b


print(add(1, 2))
print(add(3, 4))
""")

_add("closures_and_lambdas", "decorator_with_arguments", r"""
def repeat(times):
    def decorator(func):
        def wrapper(*args):
            return [func(*args) for _ in range(times)]
        return wrapper
    return decorator


@repeat(3)
def greet(name):
    return f"hi {name}"


print(greet("sam"))
""")

_add("closures_and_lambdas", "functools_wraps", r"""
import functools


def logged(func):
    @functools.wraps(func)
    def wrapper(*args):
        result = func(*args)
        print(f"{func.__name__}{args} -> {result}")
        return result
    return wrapper


@logged
def area(w, h):
    "Area of a rectangle."
    return w * h


area(3, 4)
print(area.__name__, "|", area.__doc__)
""")

_add("closures_and_lambdas", "compose", r"""
from functools import reduce


def compose(*funcs):
    return reduce(lambda f, g: lambda x: f(g(x)), funcs, lambda x: x)


strip_then_upper = compose(str.upper, str.strip)
inc_then_double = compose(lambda x: x * 2, lambda x: x + 1)
print(repr(strip_then_upper("  hello  ")))
print(inc_then_double(5))
""")

_add("closures_and_lambdas", "late_binding_fix", r"""
adders_wrong = [lambda x: x + i for i in range(3)]
adders_right = [lambda x, i=i: x + i for i in range(3)]
print([f(10) for f in adders_wrong])
print([f(10) for f in adders_right])
""")

_add("closures_and_lambdas", "memoize", r"""
def memoize(func):
    cache = {}

    def wrapper(n):
        if n not in cache:
            cache[n] = func(n)
        return cache[n]

    return wrapper


@memoize
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


print(fib(80))
print([fib(i) for i in range(10)])
""")

_add("closures_and_lambdas", "apply_n_times", r"""
def apply_n(f, n, x):
    for _ in range(n):
        x = f(x)
    return x


print(apply_n(lambda v: v * 2, 10, 1))
print(apply_n(lambda s: s + "!", 3, "hey"))
print(apply_n(lambda pair: (pair[1], pair[0] + pair[1]), 10, (0, 1))[0])
""")

_add("closures_and_lambdas", "nonlocal_counter", r"""
def make_counter(start=0):
    count = start

    def increment(step=1):
        nonlocal count
        count += step
        return count

    return increment


c = make_counter(10)
c()
c(5)
print(c())
""")

_add("closures_and_lambdas", "validator_factory", r"""
def between(low, high):
    return lambda value: low <= value <= high


def all_of(*checks):
    return lambda value: all(check(value) for check in checks)


is_percentage = between(0, 100)
is_even = lambda v: v % 2 == 0
is_even_percentage = all_of(is_percentage, is_even)
for v in [-2, 42, 51, 100, 120]:
    print(v, is_percentage(v), is_even_percentage(v))
""")

_add("closures_and_lambdas", "callbacks_list", r"""
events = []


def on(event_name, handlers):
    def register(func):
        handlers.setdefault(event_name, []).append(func)
        return func
    return register


handlers = {}


@on("save", handlers)
def log_save(doc):
    events.append(f"logged {doc}")


@on("save", handlers)
def backup(doc):
    events.append(f"backed up {doc}")


for h in handlers["save"]:
    h("report.txt")
print(events)
""")

# --- comprehensions

_add("comprehensions", "list_squares_filtered", r"""
squares = [n * n for n in range(1, 11)]
odd_squares = [s for s in squares if s % 2 == 1]
print(squares)
print(odd_squares)
print(sum(odd_squares))
""")

_add("comprehensions", "dict_comprehension", r"""
words = ["apple", "banana", "cherry", "date"]
lengths = {w: len(w) for w in words}
print(lengths)
long_words = {w: n for w, n in lengths.items() if n > 5}
print(long_words)
""")

_add("comprehensions", "set_comprehension_sorted", r"""
numbers = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
remainders = {n % 4 for n in numbers}
print(sorted(remainders))
unique_letters = {ch for ch in "mississippi"}
print(sorted(unique_letters), len(unique_letters))
""")

_add("comprehensions", "nested_flatten", r"""
matrix = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
flat = [x for row in matrix for x in row]
print(flat)
transposed = [[row[i] for row in matrix] for i in range(3)]
print(transposed)
diagonal = [matrix[i][i] for i in range(len(matrix))]
print(diagonal)
""")

_add("comprehensions", "conditional_expression", r"""
scores = [55, 78, 91, 62, 40, 88]
labels = ["pass" if s >= 60 else "fail" for s in scores]
print(labels)
grades = ["A" if s >= 90 else "B" if s >= 75 else "C" if s >= 60 else "F" for s in scores]
print(list(zip(scores, grades)))
""")

_add("comprehensions", "invert_dict", r"""
capitals = {"France": "Paris", "Japan": "Tokyo", "Peru": "Lima"}
by_city = {city: country for country, city in capitals.items()}
print(by_city)
print(by_city["Tokyo"])
""")

_add("comprehensions", "enumerate_zip", r"""
names = ["ann", "ben", "cat"]
ages = [28, 34, 19]
rows = [f"{i}. {n.title()} ({a})" for i, (n, a) in enumerate(zip(names, ages), start=1)]
print("\n".join(rows))
adults = {n: a for n, a in zip(names, ages) if a >= 21}
print(adults)
""")

_add("comprehensions", "generator_expression", r"""
prices = [19.99, 5.49, 3.75, 12.00]
total = sum(p for p in prices)
print(round(total, 2))
print(max(len(w) for w in "the quick brown fox".split()))
print(any(p > 15 for p in prices), all(p > 1 for p in prices))
""")

_add("comprehensions", "walrus", r"""
data = ["10", "x", "25", "", "7", "abc", "42"]
numbers = [n for s in data if s.isdigit() and (n := int(s)) > 9]
print(numbers)
values = [y for x in range(6) if (y := x * x) % 2 == 0]
print(values)
""")

_add("comprehensions", "pythagorean_triples", r"""
triples = [(a, b, c) for a in range(1, 21) for b in range(a, 21) for c in range(b, 21)
           if a * a + b * b == c * c]
print(triples)
print(len(triples))
""")

_add("comprehensions", "word_frequency", r"""
text = "the cat and the hat and the bat"
words = text.split()
freq = {w: words.count(w) for w in sorted(set(words))}
print(freq)
most = max(freq, key=lambda w: freq[w])
print(most, freq[most])
""")

_add("comprehensions", "grid_coordinates", r"""
grid = [(x, y) for x in range(3) for y in range(3) if x != y]
print(grid)
board = [["." for _ in range(4)] for _ in range(3)]
board[1][2] = "X"
print("\n".join("".join(row) for row in board))
""")

_add("comprehensions", "dict_of_lists", r"""
students = [("math", "ann"), ("art", "bob"), ("math", "cy"), ("art", "di"), ("cs", "ed")]
subjects = sorted({s for s, _ in students})
roster = {s: [name for subj, name in students if subj == s] for s in subjects}
print(roster)
sizes = {s: len(names) for s, names in roster.items()}
print(sizes)
""")

_add("comprehensions", "string_processing", r"""
sentence = "Hello World From Python"
initials = "".join([w[0] for w in sentence.split()])
print(initials)
vowels = [c for c in sentence.lower() if c in "aeiou"]
print(len(vowels), vowels[:5])
caps = [i for i, c in enumerate(sentence) if c.isupper()]
print(caps)
""")

# --- strings

_add("strings", "fstring_formatting", r"""
name = "Widget"
price = 1234.5678
qty = 42
print(f"{name:<10}|{qty:>5}|{price:>12,.2f}")
print(f"{0.1234:.1%}")
print(f"{255:#x} {255:08b} {7:03d}")
print(f"{name!r} has {len(name)} letters")
print(f"{'centered':^20}|")
""")

_add("strings", "format_method_and_percent", r"""
template = "{name} is {age} years old"
print(template.format(name="Ada", age=36))
print("{0} + {0} = {1}".format(2, 4))
print("%s scored %d points (%.1f%%)" % ("Bob", 42, 87.456))
print("{:>8.3f}".format(3.14159))
""")

_add("strings", "split_and_join", r"""
csv_line = "alice,30,engineer,london"
fields = csv_line.split(",")
print(fields)
print(" | ".join(fields))
path = "/usr/local/bin/python"
print(path.split("/")[-1], path.rsplit("/", 1)[0])
print("a  b   c".split())
print("-".join(str(n) for n in range(5)))
""")

_add("strings", "strip_replace_case", r"""
raw = "   Hello, World!   "
print(repr(raw.strip()), repr(raw.lstrip()), repr(raw.rstrip()))
s = raw.strip()
print(s.upper(), s.lower(), s.swapcase())
print(s.replace("World", "Python"))
print("the great gatsby".title(), "python".capitalize())
""")

_add("strings", "search_methods", r"""
text = "the quick brown fox jumps over the lazy dog"
print(text.find("fox"), text.find("cat"))
print(text.count("the"), text.index("lazy"))
print(text.startswith("the"), text.endswith("dog"))
print(text.rfind("the"))
print("fox" in text, "Fox" in text)
""")

_add("strings", "textwrap_wrap_fill", r"""
import textwrap

paragraph = ("Python is a programming language that lets you work quickly and "
             "integrate systems more effectively. It is used everywhere.")
for line in textwrap.wrap(paragraph, width=30):
    print(line)
print(textwrap.fill("a b c d e f g h i j", width=7))
""")

_add("strings", "textwrap_dedent_indent_shorten", r"""
import textwrap

code = '''
    def hello():
        print("hi")
'''
print(textwrap.dedent(code).strip())
print(textwrap.indent("line one\nline two", "> "))
print(textwrap.shorten("The quick brown fox jumps over the lazy dog", width=25))
""")

_add("strings", "string_constants_caesar", r"""
import string


def caesar(text, shift):
    lower = string.ascii_lowercase
    upper = string.ascii_uppercase
    table = str.maketrans(lower + upper,
                          lower[shift:] + lower[:shift] + upper[shift:] + upper[:shift])
    return text.translate(table)


secret = caesar("Hello, World!", 3)
print(secret)
print(caesar(secret, -3))
print(string.digits, string.punctuation[:5])
""")

_add("strings", "palindromes", r"""
def is_palindrome(s):
    cleaned = "".join(ch.lower() for ch in s if ch.isalnum())
    return cleaned == cleaned[::-1]


for phrase in ["A man, a plan, a canal: Panama", "hello", "Was it a car or a cat I saw?"]:
    print(is_palindrome(phrase), phrase)
""")

_add("strings", "reverse_words", r"""
sentence = "coding in python is fun"
print(" ".join(reversed(sentence.split())))
print(" ".join(word[::-1] for word in sentence.split()))
print(sentence[::-1])
""")

_add("strings", "partition_and_padding", r"""
email = "jane.doe@example.com"
user, _, domain = email.partition("@")
print(user, domain)
key, sep, value = "timeout=30".partition("=")
print(key, value, bool(sep))
print("42".zfill(6), "x".center(9, "*"), "ab".ljust(5, ".") + "|", "ab".rjust(5) + "|")
""")

_add("strings", "character_classes", r"""
samples = ["12345", "abcDEF", "abc123", "   ", "Hello World", "3.14"]
for s in samples:
    print(f"{s!r:15} digit={s.isdigit()} alpha={s.isalpha()} alnum={s.isalnum()} "
          f"space={s.isspace()}")
""")

_add("strings", "string_template", r"""
from string import Template

t = Template("Dear $name, your order #$order ships on $day.")
print(t.substitute(name="Kim", order=1042, day="Monday"))
print(t.safe_substitute(name="Lee"))
""")

_add("strings", "char_frequency", r"""
text = "hello world"
counts = {}
for ch in text:
    if ch != " ":
        counts[ch] = counts.get(ch, 0) + 1
for ch in sorted(counts):
    print(ch, "*" * counts[ch])
""")

_add("strings", "slugify", r"""
import re


def slugify(title):
    title = title.lower().strip()
    title = re.sub(r"[^a-z0-9\s-]", "", title)
    return re.sub(r"[\s-]+", "-", title)


for t in ["Hello, World!", "  Python 3.11 -- What's New?  ", "A/B Testing 101"]:
    print(slugify(t))
""")

_add("strings", "multiline_and_splitlines", r"""
report = "name: test\nstatus: ok\n\nduration: 3s\n"
lines = [line for line in report.splitlines() if line]
print(len(lines))
parsed = dict(line.split(": ", 1) for line in lines)
print(parsed)
print(report.count("\n"))
""")

_add("strings", "table_formatting", r"""
rows = [("apples", 3, 0.5), ("bananas", 12, 0.25), ("cherries", 100, 0.1)]
header = f"{'item':<10}{'qty':>5}{'price':>8}{'total':>8}"
print(header)
print("-" * len(header))
for item, qty, price in rows:
    print(f"{item:<10}{qty:>5}{price:>8.2f}{qty * price:>8.2f}")
""")

# --- dates_and_time

_add("dates_and_time", "strftime", r"""
from datetime import datetime

moment = datetime(2024, 7, 4, 15, 30, 0)
print(moment.strftime("%Y-%m-%d %H:%M"))
print(moment.strftime("%A, %B %d, %Y"))
print(moment.strftime("%I:%M %p"))
print(moment.isoformat())
""")

_add("dates_and_time", "timedelta_arithmetic", r"""
from datetime import datetime, timedelta

start = datetime(2024, 1, 31, 22, 0)
later = start + timedelta(hours=5, minutes=30)
print(later)
print(start - timedelta(days=31))
delta = later - start
print(delta, delta.total_seconds())
""")

_add("dates_and_time", "days_between_dates", r"""
from datetime import date

start = date(2024, 1, 1)
end = date(2024, 12, 25)
print((end - start).days, "days until Christmas")
print(date(2025, 3, 1) - date(2025, 2, 1))
""")

_add("dates_and_time", "strptime_parse", r"""
from datetime import datetime

stamps = ["2023-11-05 08:15", "2023-11-05 17:45", "2023-11-06 09:00"]
parsed = [datetime.strptime(s, "%Y-%m-%d %H:%M") for s in stamps]
for a, b in zip(parsed, parsed[1:]):
    print(b - a)
print(max(parsed).strftime("%d/%m/%Y"))
""")

_add("dates_and_time", "weekday_names", r"""
from datetime import date, timedelta

start = date(2024, 5, 13)
for offset in range(7):
    d = start + timedelta(days=offset)
    print(d.isoformat(), d.strftime("%a"), d.weekday(), d.isoweekday())
""")

_add("dates_and_time", "fromisoformat_and_replace", r"""
from datetime import datetime

dt = datetime.fromisoformat("2024-02-29T12:00:00")
print(dt.year, dt.month, dt.day, dt.hour)
print(dt.replace(year=2028))
print(dt.date(), dt.time())
""")

_add("dates_and_time", "age_calculation", r"""
from datetime import date


def age_on(birthday, today):
    years = today.year - birthday.year
    if (today.month, today.day) < (birthday.month, birthday.day):
        years -= 1
    return years


born = date(1990, 8, 15)
for today in [date(2024, 8, 14), date(2024, 8, 15), date(2025, 1, 1)]:
    print(today, age_on(born, today))
""")

_add("dates_and_time", "date_range_business_days", r"""
from datetime import date, timedelta

start, end = date(2024, 3, 1), date(2024, 3, 31)
day = start
business = 0
while day <= end:
    if day.weekday() < 5:
        business += 1
    day += timedelta(days=1)
print("business days in March 2024:", business)
""")

_add("dates_and_time", "perf_counter_elapsed", r"""
import time

start = time.perf_counter()
total = 0
for i in range(100000):
    total += i
elapsed = time.perf_counter() - start
print(total)
print("took a non-negative time:", elapsed >= 0)
""")

_add("dates_and_time", "sleep", r"""
import time

t0 = time.time()
time.sleep(0.01)
t1 = time.time()
print("slept at least 5 ms:", t1 - t0 >= 0.005)
print("done")
""")

_add("dates_and_time", "time_strftime_fixed", r"""
import time

fixed = time.struct_time((2024, 1, 15, 9, 5, 30, 0, 15, 0))
print(time.strftime("%Y-%m-%d %H:%M:%S", fixed))
print(time.strftime("%j", fixed), time.strftime("%a %b", fixed))
epoch = time.gmtime(0)
print(epoch.tm_year, epoch.tm_mon, epoch.tm_mday)
""")

_add("dates_and_time", "timezone_fixed_offset", r"""
from datetime import datetime, timedelta, timezone

utc_time = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
tokyo = timezone(timedelta(hours=9), "JST")
print(utc_time.isoformat())
print(utc_time.astimezone(tokyo).isoformat())
print(utc_time.astimezone(tokyo).strftime("%H:%M %Z"))
""")

_add("dates_and_time", "format_duration", r"""
from datetime import timedelta


def human(seconds):
    td = timedelta(seconds=seconds)
    hours, rem = divmod(int(td.total_seconds()), 3600)
    minutes, secs = divmod(rem, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s"


for s in [59, 3600, 3725, 86399]:
    print(s, human(s))
""")

_add("dates_and_time", "now_is_sane", r"""
from datetime import datetime, timezone

now = datetime.now(timezone.utc)
print("year looks right:", now.year >= 2024)
print("has tz:", now.tzinfo is not None)
""")

_add("dates_and_time", "month_end", r"""
from datetime import date, timedelta


def last_day_of_month(year, month):
    if month == 12:
        return date(year, 12, 31)
    return date(year, month + 1, 1) - timedelta(days=1)


for m in [1, 2, 4, 12]:
    print(last_day_of_month(2024, m))
""")

# --- math_and_stats

_add("math_and_stats", "sqrt_hypot_pi", r"""
import math

print(math.sqrt(2))
print(math.hypot(3, 4))
print(round(math.pi, 5), round(math.e, 5))
print(math.floor(-2.5), math.ceil(-2.5), math.trunc(-2.5))
""")

_add("math_and_stats", "gcd_lcm_factorial", r"""
import math

print(math.gcd(48, 180), math.lcm(4, 6, 10))
print(math.factorial(10))
print(math.comb(10, 3), math.perm(5, 2))
print(math.isqrt(99))
""")

_add("math_and_stats", "statistics_basics", r"""
import statistics

data = [2, 4, 4, 4, 5, 5, 7, 9]
print(statistics.mean(data))
print(statistics.median(data))
print(statistics.mode(data))
print(statistics.pstdev(data))
print(round(statistics.stdev(data), 4))
""")

_add("math_and_stats", "variance_quantiles", r"""
import statistics

scores = [62, 75, 81, 90, 55, 70, 88, 95, 67, 73]
print(statistics.variance(scores))
print(statistics.quantiles(scores, n=4))
print(statistics.median_low([1, 3, 5, 7]), statistics.median_high([1, 3, 5, 7]))
""")

_add("math_and_stats", "isclose_and_fsum", r"""
import math

print(0.1 + 0.2 == 0.3)
print(math.isclose(0.1 + 0.2, 0.3))
values = [0.1] * 10
print(sum(values), math.fsum(values))
print(math.prod([1, 2, 3, 4, 5]))
""")

_add("math_and_stats", "logs_and_powers", r"""
import math

print(math.log(math.e), math.log10(1000), math.log2(1024))
print(math.log(8, 2))
print(math.exp(0), 2 ** 10, pow(2, 10, 1000))
print(round(math.exp(1), 6))
""")

_add("math_and_stats", "trigonometry", r"""
import math

for deg in [0, 30, 45, 60, 90]:
    rad = math.radians(deg)
    print(deg, round(math.sin(rad), 4), round(math.cos(rad), 4))
print(round(math.degrees(math.atan2(1, 1)), 2))
""")

_add("math_and_stats", "primes_sieve", r"""
import math


def primes_up_to(n):
    is_prime = [True] * (n + 1)
    is_prime[0] = is_prime[1] = False
    for i in range(2, math.isqrt(n) + 1):
        if is_prime[i]:
            for j in range(i * i, n + 1, i):
                is_prime[j] = False
    return [i for i, p in enumerate(is_prime) if p]


primes = primes_up_to(100)
print(primes)
print(len(primes), sum(primes))
""")

_add("math_and_stats", "compound_interest", r"""
principal = 10000
rate = 0.05
for years in [1, 5, 10, 20]:
    amount = principal * (1 + rate / 12) ** (12 * years)
    print(f"{years:>2} years: {amount:,.2f}")
""")

_add("math_and_stats", "distance_and_centroid", r"""
import math

points = [(1, 2), (4, 6), (-3, 0), (2, -2)]
cx = sum(x for x, _ in points) / len(points)
cy = sum(y for _, y in points) / len(points)
print("centroid:", (cx, cy))
dists = [math.dist(p, (cx, cy)) for p in points]
print([round(d, 3) for d in dists])
print("farthest:", points[dists.index(max(dists))])
""")

_add("math_and_stats", "seeded_random", r"""
import random

random.seed(42)
rolls = [random.randint(1, 6) for _ in range(10)]
print(rolls)
rng = random.Random(7)
print(rng.choice(["red", "green", "blue"]))
deck = list(range(10))
rng.shuffle(deck)
print(deck)
""")

_add("math_and_stats", "correlation", r"""
import statistics

hours = [1, 2, 3, 4, 5, 6]
scores = [52, 55, 61, 70, 74, 80]
print(round(statistics.correlation(hours, scores), 4))
slope, intercept = statistics.linear_regression(hours, scores)
print(round(slope, 3), round(intercept, 3))
print(round(slope * 7 + intercept, 1))
""")

_add("math_and_stats", "integer_arithmetic", r"""
print(17 // 5, 17 % 5, divmod(17, 5))
print(-17 // 5, -17 % 5)
print(2 ** 100)
print(int("ff", 16), int("1010", 2), bin(10), hex(255), oct(8))
print(round(2.5), round(3.5), round(2.675, 2))
""")

_add("math_and_stats", "weighted_average_and_zscores", r"""
import statistics

grades = [(90, 0.3), (75, 0.5), (60, 0.2)]
weighted = sum(g * w for g, w in grades) / sum(w for _, w in grades)
print(round(weighted, 2))
data = [10, 12, 23, 23, 16, 23, 21, 16]
mu = statistics.mean(data)
sigma = statistics.pstdev(data)
print([round((x - mu) / sigma, 2) for x in data])
""")

_add("math_and_stats", "harmonic_geometric_means", r"""
import statistics

speeds = [40, 60]
print(statistics.harmonic_mean(speeds))
growth = [1.1, 1.2, 0.9]
print(round(statistics.geometric_mean(growth), 6))
print(statistics.fmean([1, 2, 3, 4]))
""")

# --- collections

_add("collections", "counter_most_common", r"""
from collections import Counter

words = "red blue red green blue red yellow blue red".split()
counts = Counter(words)
print(counts.most_common(2))
print(counts["red"], counts["purple"])
print(sorted(counts.items()))
""")

_add("collections", "counter_arithmetic", r"""
from collections import Counter

morning = Counter(apples=3, pears=2)
evening = Counter(apples=1, plums=4)
print(sorted((morning + evening).items()))
print(sorted((morning - evening).items()))
print(sum(morning.values()), morning.total())
""")

_add("collections", "defaultdict_grouping", r"""
from collections import defaultdict

animals = [("mammal", "dog"), ("bird", "owl"), ("mammal", "cat"), ("fish", "cod"),
           ("bird", "emu")]
groups = defaultdict(list)
for kind, name in animals:
    groups[kind].append(name)
for kind in sorted(groups):
    print(kind, groups[kind])
""")

_add("collections", "defaultdict_counting", r"""
from collections import defaultdict

text = "abracadabra"
counts = defaultdict(int)
for ch in text:
    counts[ch] += 1
print(dict(counts))
print(counts["z"], len(counts))
""")

_add("collections", "deque_ops", r"""
from collections import deque

d = deque([1, 2, 3])
d.append(4)
d.appendleft(0)
print(d)
d.rotate(2)
print(list(d))
print(d.popleft(), d.pop())
recent = deque(maxlen=3)
for n in range(6):
    recent.append(n)
print(list(recent))
""")

_add("collections", "namedtuple_basics", r"""
from collections import namedtuple

Point = namedtuple("Point", ["x", "y"])
p = Point(3, 4)
print(p, p.x, p[1])
x, y = p
print(x + y)
print(p._replace(x=10))
print(p._asdict())
""")

_add("collections", "ordereddict_move_to_end", r"""
from collections import OrderedDict

od = OrderedDict()
od["first"] = 1
od["second"] = 2
od["third"] = 3
od.move_to_end("first")
print(list(od.keys()))
od.move_to_end("third", last=False)
print(list(od.items()))
print(od.popitem(last=False))
""")

_add("collections", "lru_cache_ordereddict", r"""
from collections import OrderedDict


class LRUCache:
    def __init__(self, capacity):
        self.capacity = capacity
        self.data = OrderedDict()

    def get(self, key):
        if key not in self.data:
            return -1
        self.data.move_to_end(key)
        return self.data[key]

    def put(self, key, value):
        self.data[key] = value
        self.data.move_to_end(key)
        if len(self.data) > self.capacity:
            self.data.popitem(last=False)


cache = LRUCache(2)
cache.put("a", 1)
cache.put("b", 2)
cache.get("a")
cache.put("c", 3)
print(cache.get("b"), cache.get("a"), cache.get("c"))
""")

_add("collections", "chainmap", r"""
from collections import ChainMap

defaults = {"color": "blue", "size": "M", "qty": 1}
user = {"size": "L"}
cli = {"qty": 3}
settings = ChainMap(cli, user, defaults)
print(settings["color"], settings["size"], settings["qty"])
print(dict(settings))
""")

_add("collections", "deque_bfs", r"""
from collections import deque

graph = {"A": ["B", "C"], "B": ["D"], "C": ["D", "E"], "D": ["F"], "E": ["F"], "F": []}
queue = deque(["A"])
seen = ["A"]
while queue:
    node = queue.popleft()
    for nxt in graph[node]:
        if nxt not in seen:
            seen.append(nxt)
            queue.append(nxt)
print(" -> ".join(seen))
""")

_add("collections", "namedtuple_defaults", r"""
from collections import namedtuple

Employee = namedtuple("Employee", "name dept salary", defaults=["staff", 40000])
team = [Employee("ann"), Employee("bob", "eng", 90000), Employee("cy", salary=55000)]
for e in sorted(team, key=lambda e: e.salary, reverse=True):
    print(f"{e.name:4} {e.dept:6} {e.salary}")
print(Employee._fields)
""")

_add("collections", "counter_letters_anagram", r"""
from collections import Counter


def is_anagram(a, b):
    return Counter(a.replace(" ", "").lower()) == Counter(b.replace(" ", "").lower())


print(is_anagram("Listen", "Silent"))
print(is_anagram("Dormitory", "dirty room"))
print(is_anagram("hello", "world"))
print(sorted(Counter("banana").elements()))
""")

_add("collections", "nested_defaultdict", r"""
from collections import defaultdict

sales = [("2024", "Q1", 100), ("2024", "Q2", 150), ("2023", "Q1", 90), ("2024", "Q1", 20)]
table = defaultdict(lambda: defaultdict(int))
for year, quarter, amount in sales:
    table[year][quarter] += amount
for year in sorted(table):
    print(year, dict(table[year]))
""")

_add("collections", "counter_update_subtract", r"""
from collections import Counter

stock = Counter({"apple": 5, "banana": 2})
stock.update(["apple", "cherry", "cherry"])
stock.subtract({"banana": 2})
print(sorted(stock.items()))
print([item for item, n in stock.items() if n == 0])
""")

# --- itertools_functools

_add("itertools_functools", "chain_and_islice", r"""
from itertools import chain, islice

a = [1, 2, 3]
b = (4, 5)
c = range(6, 9)
print(list(chain(a, b, c)))
print(list(chain.from_iterable([[1], [2, 3], []])))
print(list(islice(range(100), 5, 20, 5)))
""")

_add("itertools_functools", "groupby", r"""
from itertools import groupby

records = [("fruit", "apple"), ("fruit", "pear"), ("veg", "leek"), ("fruit", "fig"),
           ("veg", "kale")]
records.sort(key=lambda r: r[0])
for kind, items in groupby(records, key=lambda r: r[0]):
    print(kind, [name for _, name in items])
print([(k, len(list(g))) for k, g in groupby("aaabccdddd")])
""")

_add("itertools_functools", "accumulate", r"""
from itertools import accumulate
import operator

deposits = [100, -20, 50, -70, 10]
print(list(accumulate(deposits)))
print(list(accumulate([3, 1, 4, 1, 5, 9, 2], max)))
print(list(accumulate([1, 2, 3, 4, 5], operator.mul)))
""")

_add("itertools_functools", "combinations_permutations", r"""
from itertools import combinations, permutations

print(list(combinations("ABCD", 2)))
print(len(list(permutations(range(4)))))
print(["".join(p) for p in permutations("abc")])
team = ["ann", "bob", "cy", "di"]
pairs = [f"{a}-{b}" for a, b in combinations(team, 2)]
print(pairs)
""")

_add("itertools_functools", "product", r"""
from itertools import product

sizes = ["S", "M"]
colors = ["red", "blue"]
for size, color in product(sizes, colors):
    print(size, color)
print(len(list(product(range(2), repeat=4))))
""")

_add("itertools_functools", "count_takewhile_dropwhile", r"""
from itertools import count, dropwhile, takewhile

squares = (n * n for n in count(1))
print(list(takewhile(lambda s: s < 50, squares)))
print(list(dropwhile(lambda x: x < 5, [1, 3, 6, 2, 8])))
""")

_add("itertools_functools", "zip_longest_and_starmap", r"""
from itertools import starmap, zip_longest

names = ["a", "b", "c"]
scores = [1, 2]
print(list(zip_longest(names, scores, fillvalue=0)))
print(list(starmap(pow, [(2, 3), (3, 2), (10, 3)])))
""")

_add("itertools_functools", "reduce", r"""
from functools import reduce

numbers = [3, 5, 2, 8, 1]
print(reduce(lambda a, b: a + b, numbers))
print(reduce(lambda a, b: a if a > b else b, numbers))
print(reduce(lambda acc, d: acc * 10 + d, [1, 2, 3, 4], 0))
nested = [[1, 2], [3], [4, 5, 6]]
print(reduce(lambda acc, xs: acc + xs, nested, []))
""")

_add("itertools_functools", "lru_cache", r"""
from functools import lru_cache


@lru_cache(maxsize=None)
def ways_to_climb(n):
    if n <= 1:
        return 1
    return ways_to_climb(n - 1) + ways_to_climb(n - 2)


print(ways_to_climb(50))
info = ways_to_climb.cache_info()
print(info.hits, info.misses)
""")

_add("itertools_functools", "partial", r"""
from functools import partial


def power(base, exponent):
    return base ** exponent


square = partial(power, exponent=2)
cube = partial(power, exponent=3)
to_int_base2 = partial(int, base=2)
print(square(7), cube(3))
print(to_int_base2("101101"))
print(list(map(square, range(5))))
""")

_add("itertools_functools", "cmp_to_key", r"""
from functools import cmp_to_key


def compare(a, b):
    if a + b > b + a:
        return -1
    if a + b < b + a:
        return 1
    return 0


nums = [3, 30, 34, 5, 9]
print("".join(sorted(map(str, nums), key=cmp_to_key(compare))))
""")

_add("itertools_functools", "pairwise", r"""
from itertools import pairwise

readings = [10, 12, 9, 15, 15, 20]
diffs = [b - a for a, b in pairwise(readings)]
print(diffs)
print(sum(1 for d in diffs if d > 0), "increases")
""")

_add("itertools_functools", "cycle_and_repeat", r"""
from itertools import cycle, islice, repeat

players = cycle(["red", "green", "blue"])
print(list(islice(players, 7)))
print(list(repeat("x", 3)))
print(list(map(pow, range(5), repeat(2))))
""")

_add("itertools_functools", "compress_and_filterfalse", r"""
from itertools import compress, filterfalse

items = ["a", "b", "c", "d", "e"]
mask = [1, 0, 1, 0, 1]
print(list(compress(items, mask)))
print(list(filterfalse(lambda n: n % 3, range(10))))
""")

_add("itertools_functools", "chunking", r"""
from itertools import islice


def chunks(items, size):
    it = iter(items)
    out = []
    while True:
        block = list(islice(it, size))
        if not block:
            return out
        out.append(block)


print(chunks(range(10), 3))
print(chunks("abcdefg", 2))
""")

# --- exceptions

_add("exceptions", "int_conversion", r"""
inputs = ["42", "3.5", "abc", "", "-7"]
for text in inputs:
    try:
        value = int(text)
    except ValueError:
        print(f"{text!r}: not an integer")
    else:
        print(f"{text!r}: {value * 2}")
""")

_add("exceptions", "finally_order", r"""
def risky(n):
    steps = []
    try:
        steps.append("try")
        if n == 0:
            raise ZeroDivisionError("n is zero")
        steps.append(f"result {10 / n}")
    except ZeroDivisionError as e:
        steps.append(f"caught {e}")
    finally:
        steps.append("cleanup")
    return steps


print(risky(2))
print(risky(0))
""")

_add("exceptions", "custom_exception", r"""
class InsufficientFundsError(Exception):
    def __init__(self, balance, amount):
        super().__init__(f"cannot withdraw {amount}, balance is {balance}")
        self.balance = balance
        self.amount = amount


def withdraw(balance, amount):
    if amount > balance:
        raise InsufficientFundsError(balance, amount)
    return balance - amount


try:
    withdraw(50, 80)
except InsufficientFundsError as e:
    print(e)
    print("short by", e.amount - e.balance)
""")

_add("exceptions", "raise_from", r"""
class ConfigError(Exception):
    pass


def parse_port(text):
    try:
        return int(text)
    except ValueError as e:
        raise ConfigError(f"invalid port {text!r}") from e


try:
    parse_port("eighty")
except ConfigError as e:
    print(e)
    print(type(e.__cause__).__name__)
""")

_add("exceptions", "multiple_except", r"""
def safe_get(data, key, index):
    try:
        return data[key][index]
    except (KeyError, IndexError) as e:
        return f"missing: {type(e).__name__}"
    except TypeError:
        return "bad type"


data = {"a": [1, 2, 3], "b": 5}
print(safe_get(data, "a", 1))
print(safe_get(data, "z", 0))
print(safe_get(data, "a", 10))
print(safe_get(data, "b", 0))
""")

_add("exceptions", "reraise", r"""
def process(items):
    done = []
    for item in items:
        try:
            done.append(100 // item)
        except ZeroDivisionError:
            print("logging failure for", item)
            raise
    return done


try:
    process([5, 10, 0, 20])
except ZeroDivisionError as e:
    print("caller saw:", e)
""")

_add("exceptions", "hierarchy", r"""
class AppError(Exception):
    pass


class NotFoundError(AppError):
    pass


class PermissionDeniedError(AppError):
    pass


def fetch(kind):
    if kind == "missing":
        raise NotFoundError("no such record")
    if kind == "secret":
        raise PermissionDeniedError("access denied")
    return "record"


for kind in ["ok", "missing", "secret"]:
    try:
        print(fetch(kind))
    except AppError as e:
        print(type(e).__name__, "-", e)
""")

_add("exceptions", "assert_statement", r"""
def mean(values):
    assert len(values) > 0, "values must not be empty"
    return sum(values) / len(values)


print(mean([1, 2, 3, 4]))
try:
    mean([])
except AssertionError as e:
    print("assertion failed:", e)
""")

_add("exceptions", "safe_divide_dict", r"""
def safe_divide(a, b, default=None):
    try:
        return a / b
    except ZeroDivisionError:
        return default


pairs = [(10, 2), (5, 0), (7, 7)]
print([safe_divide(a, b, default=float("inf")) for a, b in pairs])
prices = {"apple": 1.2}
try:
    print(prices["kiwi"])
except KeyError as e:
    print("no price for", e)
""")

_add("exceptions", "exception_group", r"""
def validate(user):
    errors = []
    if not user.get("name"):
        errors.append(ValueError("name is required"))
    if user.get("age", 0) < 0:
        errors.append(ValueError("age must be non-negative"))
    if errors:
        raise ExceptionGroup("invalid user", errors)


try:
    validate({"name": "", "age": -1})
except* ValueError as group:
    for err in group.exceptions:
        print("-", err)
""")

_add("exceptions", "retry_loop", r"""
attempts = {"count": 0}


def flaky():
    attempts["count"] += 1
    if attempts["count"] < 3:
        raise ConnectionError(f"attempt {attempts['count']} failed")
    return "success"


result = None
for attempt in range(5):
    try:
        result = flaky()
        break
    except ConnectionError as e:
        print("retrying after:", e)
print(result, "after", attempts["count"], "attempts")
""")

_add("exceptions", "args_and_str", r"""
try:
    raise ValueError("bad value", 42)
except ValueError as e:
    print(e.args)
    print(str(e))
    print(repr(e))

try:
    {}["missing"]
except LookupError as e:
    print(type(e).__name__, e)
""")

_add("exceptions", "else_and_finally_return", r"""
def parse_all(texts):
    results = []
    for t in texts:
        try:
            n = float(t)
        except ValueError:
            results.append(None)
        else:
            results.append(round(n, 1))
        finally:
            pass
    return results


print(parse_all(["1.25", "x", "1e3", "nan?"]))
""")

_add("exceptions", "validation_errors", r"""
class ValidationError(ValueError):
    def __init__(self, field, problem):
        super().__init__(f"{field}: {problem}")
        self.field = field


def validate_age(age):
    if not isinstance(age, int):
        raise ValidationError("age", "must be an integer")
    if not 0 <= age <= 150:
        raise ValidationError("age", f"{age} is out of range")
    return age


for candidate in [30, -5, "ten", 200]:
    try:
        print("ok", validate_age(candidate))
    except ValidationError as e:
        print("invalid", e.field, "|", e)
""")

# --- typing

_add("typing", "optional_return", r"""
from typing import Optional


def find_index(items: list[str], target: str) -> Optional[int]:
    for i, item in enumerate(items):
        if item == target:
            return i
    return None


fruits = ["apple", "banana", "cherry"]
for name in ["banana", "kiwi"]:
    idx = find_index(fruits, name)
    if idx is None:
        print(name, "not found")
    else:
        print(name, "at", idx)
""")

_add("typing", "list_dict_annotations", r"""
from typing import Dict, List


def group_by_length(words: List[str]) -> Dict[int, List[str]]:
    groups: Dict[int, List[str]] = {}
    for w in words:
        groups.setdefault(len(w), []).append(w)
    return groups


result = group_by_length(["a", "bb", "cc", "ddd", "e"])
for length in sorted(result):
    print(length, result[length])
""")

_add("typing", "callable_param", r"""
from typing import Callable


def apply_all(values: list[float], fn: Callable[[float], float]) -> list[float]:
    return [fn(v) for v in values]


def halve(x: float) -> float:
    return x / 2


print(apply_all([1.0, 2.0, 3.0], halve))
print(apply_all([1.0, 4.0, 9.0], lambda x: x ** 0.5))
""")

_add("typing", "typeddict", r"""
from typing import TypedDict


class Movie(TypedDict):
    title: str
    year: int
    rating: float


movies: list[Movie] = [
    {"title": "Alien", "year": 1979, "rating": 8.5},
    {"title": "Up", "year": 2009, "rating": 8.3},
]
best = max(movies, key=lambda m: m["rating"])
print(best["title"], best["year"])
print(sum(m["year"] for m in movies) / len(movies))
""")

_add("typing", "namedtuple_class", r"""
from typing import NamedTuple


class Point(NamedTuple):
    x: float
    y: float
    label: str = ""


points = [Point(1.0, 2.0, "a"), Point(-1.5, 0.5)]
for p in points:
    print(p, p.x + p.y)
print(points[0]._replace(label="moved"))
""")

_add("typing", "union_types", r"""
from typing import Union


def describe(value: Union[int, str, None]) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, int):
        return f"number {value}"
    return f"text {value!r}"


def total(values: list[int | float]) -> float:
    return float(sum(values))


print(describe(5), describe("hi"), describe(None))
print(total([1, 2.5, 3]))
""")

_add("typing", "tuple_return", r"""
from typing import Tuple


def min_max(values: list[int]) -> Tuple[int, int]:
    return min(values), max(values)


def split_name(full: str) -> tuple[str, str]:
    first, _, last = full.partition(" ")
    return first, last


lo, hi = min_max([7, 2, 9, 4])
print(lo, hi)
print(split_name("Ada Lovelace"))
""")

_add("typing", "typevar_generic", r"""
from typing import Sequence, TypeVar

T = TypeVar("T")


def first(items: Sequence[T], default: T) -> T:
    return items[0] if items else default


def last_n(items: list[T], n: int) -> list[T]:
    return items[-n:]


print(first([3, 4], 0), first([], "empty"))
print(last_n(["a", "b", "c", "d"], 2))
""")

_add("typing", "protocol", r"""
from typing import Protocol


class HasArea(Protocol):
    def area(self) -> float: ...


class Square:
    def __init__(self, side: float) -> None:
        self.side = side

    def area(self) -> float:
        return self.side ** 2


class Circle:
    def __init__(self, r: float) -> None:
        self.r = r

    def area(self) -> float:
        return 3.14159 * self.r ** 2


def total_area(shapes: list[HasArea]) -> float:
    return sum(s.area() for s in shapes)


print(round(total_area([Square(2), Circle(1)]), 3))
""")

_add("typing", "literal_and_final", r"""
from typing import Final, Literal

MAX_RETRIES: Final = 3
Mode = Literal["read", "write"]


def open_mode(mode: Mode) -> str:
    return "r" if mode == "read" else "w"


print(open_mode("read"), open_mode("write"), MAX_RETRIES)
""")

_add("typing", "builtin_generics", r"""
def index_words(text: str) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for pos, word in enumerate(text.lower().split()):
        index.setdefault(word, []).append(pos)
    return index


idx = index_words("the cat saw the other cat")
print(idx)
pairs: list[tuple[str, int]] = [(w, len(p)) for w, p in idx.items()]
print(sorted(pairs, key=lambda kv: (-kv[1], kv[0])))
""")

_add("typing", "iterable_mapping", r"""
from typing import Iterable, Mapping


def total_cost(items: Iterable[str], prices: Mapping[str, float]) -> float:
    return sum(prices.get(item, 0.0) for item in items)


price_list = {"tea": 2.5, "cake": 3.75}
print(total_cost(["tea", "cake", "tea"], price_list))
print(total_cost(("water",), price_list))
""")

_add("typing", "type_alias_and_any", r"""
from typing import Any

Row = dict[str, Any]
Table = list[Row]


def column(table: Table, name: str) -> list[Any]:
    return [row.get(name) for row in table]


people: Table = [{"name": "ann", "age": 30}, {"name": "bob"}]
print(column(people, "name"))
print(column(people, "age"))
""")

_add("typing", "cast_and_optional_default", r"""
from typing import Optional, cast


def greet(name: Optional[str] = None) -> str:
    return f"Hello, {name or 'stranger'}!"


raw: object = "42"
number = int(cast(str, raw))
print(greet(), greet("Mia"))
print(number + 1)
""")

_add("typing", "annotated_class", r"""
from typing import Optional


class TreeNode:
    def __init__(self, value: int, left: Optional["TreeNode"] = None,
                 right: Optional["TreeNode"] = None) -> None:
        self.value = value
        self.left = left
        self.right = right


def tree_sum(node: Optional[TreeNode]) -> int:
    if node is None:
        return 0
    return node.value + tree_sum(node.left) + tree_sum(node.right)


root = TreeNode(1, TreeNode(2, TreeNode(4)), TreeNode(3))
print(tree_sum(root))
""")

# --- sorting_and_keys

_add("sorting_and_keys", "sort_by_key", r"""
words = ["banana", "Apple", "cherry", "date", "Elderberry", "fig"]
print(sorted(words))
print(sorted(words, key=str.lower))
print(sorted(words, key=len))
print(sorted(words, key=lambda w: (len(w), w.lower())))
""")

_add("sorting_and_keys", "multiple_keys", r"""
employees = [
    {"name": "ann", "dept": "eng", "salary": 120},
    {"name": "bob", "dept": "ops", "salary": 90},
    {"name": "cy", "dept": "eng", "salary": 95},
    {"name": "di", "dept": "ops", "salary": 110},
]
ordered = sorted(employees, key=lambda e: (e["dept"], -e["salary"]))
for e in ordered:
    print(e["dept"], e["name"], e["salary"])
""")

_add("sorting_and_keys", "sort_dict_by_value", r"""
scores = {"ann": 88, "bob": 95, "cy": 72, "di": 95}
ranking = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
for rank, (name, score) in enumerate(ranking, 1):
    print(rank, name, score)
print(dict(sorted(scores.items())))
""")

_add("sorting_and_keys", "stable_two_pass", r"""
records = [("b", 2), ("a", 2), ("c", 1), ("a", 1), ("b", 1)]
records.sort(key=lambda r: r[0])
records.sort(key=lambda r: r[1], reverse=True)
print(records)
""")

_add("sorting_and_keys", "itemgetter_attrgetter", r"""
from operator import attrgetter, itemgetter
from collections import namedtuple

rows = [("x", 3, 1.5), ("y", 1, 2.5), ("z", 2, 0.5)]
print(sorted(rows, key=itemgetter(1)))
print(sorted(rows, key=itemgetter(2), reverse=True))
City = namedtuple("City", "name population")
cities = [City("Oslo", 709), City("Bergen", 285), City("Trondheim", 212)]
print([c.name for c in sorted(cities, key=attrgetter("population"))])
""")

_add("sorting_and_keys", "heapq_nlargest", r"""
import heapq

numbers = [15, 3, 42, 8, 23, 4, 16]
print(heapq.nlargest(3, numbers))
print(heapq.nsmallest(2, numbers))
products = [("pen", 1.5), ("book", 12.0), ("bag", 30.0), ("cup", 6.0)]
print(heapq.nlargest(2, products, key=lambda p: p[1]))
""")

_add("sorting_and_keys", "bisect_insort", r"""
import bisect

grades_cutoffs = [60, 70, 80, 90]
letters = "FDCBA"
for score in [55, 60, 75, 89, 90, 100]:
    print(score, letters[bisect.bisect(grades_cutoffs, score)])
sorted_list = [1, 4, 9]
for n in [5, 0, 10]:
    bisect.insort(sorted_list, n)
print(sorted_list)
""")

_add("sorting_and_keys", "min_max_key", r"""
cities = {"Tokyo": 37.4, "Delhi": 31.0, "Shanghai": 27.1, "Cairo": 21.3}
print(max(cities, key=cities.get))
print(min(cities.items(), key=lambda kv: kv[1]))
words = ["kiwi", "banana", "fig", "apple"]
print(min(words, key=len), max(words, key=len))
""")

_add("sorting_and_keys", "sort_in_place_vs_sorted", r"""
original = [5, 2, 9, 1]
copy = sorted(original)
print(original, copy)
original.sort(reverse=True)
print(original)
print(list(reversed(copy)))
""")

_add("sorting_and_keys", "natural_sort", r"""
import re


def natural_key(s):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", s)]


files = ["file10.txt", "file2.txt", "File1.txt", "file20.txt", "file3.txt"]
print(sorted(files))
print(sorted(files, key=natural_key))
""")

_add("sorting_and_keys", "custom_order", r"""
priority = {"high": 0, "medium": 1, "low": 2}
tickets = [("T1", "low"), ("T2", "high"), ("T3", "medium"), ("T4", "high")]
for tid, level in sorted(tickets, key=lambda t: (priority[t[1]], t[0])):
    print(tid, level)
""")

_add("sorting_and_keys", "sort_objects", r"""
class Task:
    def __init__(self, name, due, done=False):
        self.name = name
        self.due = due
        self.done = done

    def __repr__(self):
        return f"{self.name}@{self.due}{'*' if self.done else ''}"


tasks = [Task("pay", 3), Task("call", 1, True), Task("email", 2), Task("book", 1)]
print(sorted(tasks, key=lambda t: (t.done, t.due, t.name)))
""")

_add("sorting_and_keys", "rank_with_ties", r"""
scores = [("ann", 90), ("bob", 85), ("cy", 90), ("di", 70), ("ed", 85)]
ordered = sorted(scores, key=lambda s: -s[1])
ranks = []
for i, (name, score) in enumerate(ordered):
    if i > 0 and score == ordered[i - 1][1]:
        rank = ranks[-1][0]
    else:
        rank = i + 1
    ranks.append((rank, name, score))
for r in ranks:
    print(*r)
""")

# --- json_and_regex

_add("json_and_regex", "json_dumps_options", r"""
import json

data = {"name": "Widget", "tags": ["a", "b"], "price": 9.99, "stock": None, "active": True}
print(json.dumps(data))
print(json.dumps(data, indent=2, sort_keys=True))
print(json.dumps(data, separators=(",", ":")))
""")

_add("json_and_regex", "json_loads_access", r"""
import json

payload = '{"user": {"id": 7, "name": "Zoe"}, "roles": ["admin", "dev"], "score": 4.5}'
obj = json.loads(payload)
print(obj["user"]["name"], obj["roles"][0], obj["score"] * 2)
print(type(obj).__name__, sorted(obj.keys()))
""")

_add("json_and_regex", "json_aggregate_records", r"""
import json

raw = '''[
  {"city": "Paris", "temp": 21.5},
  {"city": "Oslo", "temp": 12.0},
  {"city": "Paris", "temp": 19.5},
  {"city": "Oslo", "temp": 14.0}
]'''
records = json.loads(raw)
by_city = {}
for r in records:
    by_city.setdefault(r["city"], []).append(r["temp"])
summary = {c: sum(t) / len(t) for c, t in by_city.items()}
print(json.dumps(summary, sort_keys=True))
""")

_add("json_and_regex", "json_roundtrip_unicode", r"""
import json

data = {"greeting": "caf\u00e9", "values": [1, 2.5, None]}
text = json.dumps(data)
print(text)
print(json.dumps(data, ensure_ascii=False) == json.dumps(data, ensure_ascii=False))
print(json.loads(text) == data)
""")

_add("json_and_regex", "json_invalid", r"""
import json

for text in ['{"a": 1}', "{bad json}", "[1, 2,]"]:
    try:
        print("parsed:", json.loads(text))
    except json.JSONDecodeError as e:
        print("error at column", e.colno)
""")

_add("json_and_regex", "regex_findall_numbers", r"""
import re

text = "Order 66 shipped 3 items for $42.50 on 2024-05-01"
print(re.findall(r"\d+", text))
print(re.findall(r"\d+\.\d+", text))
print(sum(int(n) for n in re.findall(r"\b\d+\b", "1 22 333")))
""")

_add("json_and_regex", "regex_sub", r"""
import re

text = "Call 555-1234 or 555-9876 today!"
print(re.sub(r"\d{3}-\d{4}", "XXX-XXXX", text))
print(re.sub(r"\s+", " ", "too    many     spaces"))
print(re.sub(r"(\w+)@(\w+)\.com", r"\2 at \1", "write to alice@example.com"))
""")

_add("json_and_regex", "regex_match_groups", r"""
import re

lines = ["2024-01-15 ERROR disk full", "garbage", "2024-01-16 INFO started"]
for line in lines:
    m = re.match(r"(\d{4})-(\d{2})-(\d{2}) (\w+) (.*)", line)
    if m:
        year, month, day, level, msg = m.groups()
        print(level, msg, f"({day}/{month}/{year})")
    else:
        print("unparsed:", line)
""")

_add("json_and_regex", "named_groups", r"""
import re

pattern = re.compile(r"(?P<key>\w+)=(?P<value>[^;]+)")
header = "name=Bob;age=42;city=New York"
for m in pattern.finditer(header):
    print(m.group("key"), "->", m.group("value"))
print({m["key"]: m["value"] for m in pattern.finditer(header)})
""")

_add("json_and_regex", "regex_split", r"""
import re

print(re.split(r"[,;\s]+", "a, b;c  d,e"))
print(re.split(r"(\d)", "a1b2c3"))
print(re.split(r"\.\s*", "One. Two.Three. "))
""")

_add("json_and_regex", "email_validation", r"""
import re

EMAIL = re.compile(r"^[\w.+-]+@[\w-]+\.[\w.]+$")
candidates = ["ann@example.com", "bad@", "x.y+z@mail.co.uk", "no spaces@x.com"]
for c in candidates:
    print(c, bool(EMAIL.match(c)))
""")

_add("json_and_regex", "finditer_spans", r"""
import re

text = "cat bat rat cat"
for m in re.finditer(r"cat", text):
    print(m.start(), m.end(), m.group())
print([m.span() for m in re.finditer(r"\b\w", text)])
""")

_add("json_and_regex", "ignorecase_and_search", r"""
import re

log = "User ADMIN logged in; user guest logged out"
print(re.findall(r"user (\w+)", log, re.IGNORECASE))
m = re.search(r"logged (\w+)", log)
if m:
    print(m.group(1), m.start())
print(re.search(r"root", log) is None)
""")

_add("json_and_regex", "phone_normalize", r"""
import re

numbers = ["(555) 123-4567", "555.987.6543", "5551112222", "12-34"]
for n in numbers:
    digits = re.sub(r"\D", "", n)
    if len(digits) == 10:
        print(f"{digits[:3]}-{digits[3:6]}-{digits[6:]}")
    else:
        print("invalid:", n)
""")

# --- recursion_and_algorithms

_add("recursion_and_algorithms", "factorial_recursive", r"""
def factorial(n):
    if n <= 1:
        return 1
    return n * factorial(n - 1)


print([factorial(i) for i in range(8)])
print(factorial(20))
""")

_add("recursion_and_algorithms", "binary_search", r"""
def binary_search(items, target):
    lo, hi = 0, len(items) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if items[mid] == target:
            return mid
        if items[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1


data = list(range(0, 100, 7))
print(binary_search(data, 49), binary_search(data, 50))
""")

_add("recursion_and_algorithms", "merge_sort", r"""
def merge_sort(xs):
    if len(xs) <= 1:
        return xs
    mid = len(xs) // 2
    left, right = merge_sort(xs[:mid]), merge_sort(xs[mid:])
    merged = []
    i = j = 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            merged.append(left[i])
            i += 1
        else:
            merged.append(right[j])
            j += 1
    return merged + left[i:] + right[j:]


print(merge_sort([38, 27, 43, 3, 9, 82, 10]))
""")

_add("recursion_and_algorithms", "quicksort", r"""
def quicksort(xs):
    if len(xs) < 2:
        return xs
    pivot, rest = xs[0], xs[1:]
    return (quicksort([x for x in rest if x < pivot]) + [pivot]
            + quicksort([x for x in rest if x >= pivot]))


print(quicksort([3, 6, 1, 8, 2, 9, 2]))
print(quicksort(list("python")))
""")

_add("recursion_and_algorithms", "permutations_recursive", r"""
def permutations(items):
    if len(items) <= 1:
        return [items]
    result = []
    for i in range(len(items)):
        for rest in permutations(items[:i] + items[i + 1:]):
            result.append([items[i]] + rest)
    return result


perms = permutations([1, 2, 3])
print(perms)
print(len(permutations(list("abcd"))))
""")

_add("recursion_and_algorithms", "hanoi", r"""
def hanoi(n, source, target, spare, moves):
    if n == 0:
        return
    hanoi(n - 1, source, spare, target, moves)
    moves.append((source, target))
    hanoi(n - 1, spare, target, source, moves)


moves = []
hanoi(3, "A", "C", "B", moves)
print(len(moves))
print(moves)
""")

_add("recursion_and_algorithms", "flatten_nested", r"""
def flatten(items):
    out = []
    for item in items:
        if isinstance(item, list):
            out.extend(flatten(item))
        else:
            out.append(item)
    return out


print(flatten([1, [2, [3, [4, [5]]]], 6, [[7], 8]]))
""")

_add("recursion_and_algorithms", "power_set", r"""
def subsets(items):
    if not items:
        return [[]]
    rest = subsets(items[1:])
    return rest + [[items[0]] + s for s in rest]


result = subsets(["a", "b", "c"])
print(sorted(result, key=lambda s: (len(s), s)))
print(len(subsets(list(range(5)))))
""")

_add("recursion_and_algorithms", "dfs_graph", r"""
graph = {
    "a": ["b", "c"],
    "b": ["d"],
    "c": ["d", "e"],
    "d": ["f"],
    "e": [],
    "f": [],
}


def dfs(node, visited):
    visited.append(node)
    for nxt in graph[node]:
        if nxt not in visited:
            dfs(nxt, visited)
    return visited


print(dfs("a", []))
""")

_add("recursion_and_algorithms", "dijkstra", r"""
import heapq

graph = {
    "A": {"B": 4, "C": 1},
    "B": {"D": 1},
    "C": {"B": 2, "D": 5},
    "D": {},
}


def shortest(start):
    dist = {node: float("inf") for node in graph}
    dist[start] = 0
    heap = [(0, start)]
    while heap:
        d, node = heapq.heappop(heap)
        if d > dist[node]:
            continue
        for nxt, w in graph[node].items():
            if d + w < dist[nxt]:
                dist[nxt] = d + w
                heapq.heappush(heap, (d + w, nxt))
    return dist


print(shortest("A"))
""")

_add("recursion_and_algorithms", "n_queens", r"""
def solve(n, row=0, cols=(), diag1=(), diag2=()):
    if row == n:
        return 1
    count = 0
    for c in range(n):
        if c in cols or row + c in diag1 or row - c in diag2:
            continue
        count += solve(n, row + 1, cols + (c,), diag1 + (row + c,), diag2 + (row - c,))
    return count


print([solve(n) for n in range(1, 8)])
""")

_add("recursion_and_algorithms", "knapsack_dp", r"""
def knapsack(items, capacity):
    best = [0] * (capacity + 1)
    for weight, value in items:
        for c in range(capacity, weight - 1, -1):
            best[c] = max(best[c], best[c - weight] + value)
    return best[capacity]


items = [(1, 1), (3, 4), (4, 5), (5, 7)]
print(knapsack(items, 7))
print([knapsack(items, c) for c in range(10)])
""")

_add("recursion_and_algorithms", "edit_distance", r"""
def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


for a, b in [("kitten", "sitting"), ("flaw", "lawn"), ("same", "same")]:
    print(a, b, edit_distance(a, b))
""")

_add("recursion_and_algorithms", "longest_common_subsequence", r"""
def lcs(a, b):
    table = [[""] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            if a[i] == b[j]:
                table[i][j] = a[i] + table[i + 1][j + 1]
            else:
                table[i][j] = max(table[i + 1][j], table[i][j + 1], key=len)
    return table[0][0]


print(lcs("ABCBDAB", "BDCABA"))
print(len(lcs("AGGTAB", "GXTXAYB")))
""")

_add("recursion_and_algorithms", "two_sum", r"""
def two_sum(nums, target):
    seen = {}
    for i, n in enumerate(nums):
        if target - n in seen:
            return (seen[target - n], i)
        seen[n] = i
    return None


print(two_sum([2, 7, 11, 15], 9))
print(two_sum([3, 2, 4], 6))
print(two_sum([1, 2], 10))
""")

_add("recursion_and_algorithms", "gcd_and_fast_power", r"""
def gcd(a, b):
    return a if b == 0 else gcd(b, a % b)


def fast_pow(base, exp):
    if exp == 0:
        return 1
    half = fast_pow(base, exp // 2)
    return half * half * (base if exp % 2 else 1)


print(gcd(1071, 462), gcd(17, 5))
print(fast_pow(3, 13), 3 ** 13)
""")

_add("recursion_and_algorithms", "tree_depth_dicts", r"""
tree = {"value": 1, "children": [
    {"value": 2, "children": [{"value": 4, "children": []}]},
    {"value": 3, "children": [{"value": 5, "children": [{"value": 6, "children": []}]}]},
]}


def depth(node):
    return 1 + max((depth(c) for c in node["children"]), default=0)


def total(node):
    return node["value"] + sum(total(c) for c in node["children"])


print(depth(tree), total(tree))
""")

# --- unannotated_dicts_and_lists

_add("unannotated_dicts_and_lists", "stats_int_then_float", r"""
stats = {"revenue": 31000, "customers": 120}
stats["ratio"] = round(1 / 3, 2)
stats["avg_order"] = stats["revenue"] / stats["customers"]
for key, value in stats.items():
    print(key, value)
""")

_add("unannotated_dicts_and_lists", "functions_by_index", r"""
def area_square(side):
    return side * side


def area_rect(w, h):
    return w * h


def greeting():
    return "hello"


funcs = [area_square, area_rect, greeting]
print(funcs[0](4))
print(funcs[1](3, 5))
print(funcs[2]())
""")

_add("unannotated_dicts_and_lists", "optional_regex_match", r"""
import re

line = "Total: 1,234 items shipped"
m = re.search(r"Total: ([\d,]+)", line)
if m:
    count = int(m.group(1).replace(",", ""))
    print(count * 2)
version = re.match(r"v(\d+)\.(\d+)", "v3.11")
if version:
    major, minor = version.groups()
    print(int(major), int(minor))
""")

_add("unannotated_dicts_and_lists", "mixed_config", r"""
config = {"name": "worker", "retries": 3}
config["timeout"] = 2.5
config["verbose"] = True
print(config)
print(config["retries"] * 2, config["name"].upper())
""")

_add("unannotated_dicts_and_lists", "total_int_then_float", r"""
prices = [1.25, 3.5, 2.0]
total = 0
for p in prices:
    total += p
print(total)
count = 0
count = count + 0.5
print(count)
""")

_add("unannotated_dicts_and_lists", "records_compare_values", r"""
rows = [
    {"name": "ann", "score": 91, "passed": True},
    {"name": "bob", "score": 67, "passed": True},
    {"name": "cy", "score": 45, "passed": False},
]
high = [r["name"] for r in rows if r["score"] > 80]
print(high)
average = sum(r["score"] for r in rows) / len(rows)
print(round(average, 2))
rows.sort(key=lambda r: r["score"])
print([r["name"] for r in rows])
""")

_add("unannotated_dicts_and_lists", "list_ints_then_float", r"""
measurements = [10, 20, 30]
measurements.append(12.5)
print(sum(measurements) / len(measurements))
values = []
values.append(1)
values.append("two")
print(values)
""")

_add("unannotated_dicts_and_lists", "none_then_int", r"""
numbers = [4, 17, 9, 23, 8]
best = None
for n in numbers:
    if best is None or n > best:
        best = n
print(best)
result = None
for n in numbers:
    if n % 9 == 0:
        result = n
        break
print(result)
""")

_add("unannotated_dicts_and_lists", "max_dict_get", r"""
votes = {"alice": 12, "bob": 19, "carol": 7}
winner = max(votes, key=votes.get)
print(winner, votes[winner])
loser = min(votes, key=lambda k: votes[k])
print(loser)
""")

_add("unannotated_dicts_and_lists", "nested_record", r"""
record = {
    "user": {"name": "Kai", "id": 42},
    "tags": ["new", "vip"],
    "balance": 10.5,
}
print(record["user"]["name"], record["user"]["id"] + 1)
record["tags"].append("active")
print(len(record["tags"]), record["tags"])
print(record["balance"] * 2)
""")

_add("unannotated_dicts_and_lists", "mixed_tuples", r"""
results = []
for name, raw in [("a", "1"), ("b", "x"), ("c", "3")]:
    if raw.isdigit():
        results.append((name, int(raw), "ok"))
    else:
        results.append((name, None, "bad input"))
for r in results:
    print(r)
good = [value for _, value, status in results if status == "ok"]
print(sum(good))
""")

_add("unannotated_dicts_and_lists", "dict_get_default_arithmetic", r"""
inventory = {"apples": 5, "pears": 0}
requested = ["apples", "kiwis", "pears"]
for item in requested:
    have = inventory.get(item)
    if have:
        print(item, "in stock:", have)
    else:
        print(item, "out of stock")
print(inventory.get("kiwis", 0) + 10)
""")

_add("unannotated_dicts_and_lists", "summary_report", r"""
orders = [("north", 120.0, 3), ("south", 80.0, 1), ("north", 40.0, 2)]
summary = {}
for region, amount, qty in orders:
    if region not in summary:
        summary[region] = {"amount": 0, "qty": 0, "orders": 0}
    summary[region]["amount"] += amount
    summary[region]["qty"] += qty
    summary[region]["orders"] += 1
for region, s in sorted(summary.items()):
    s["avg"] = round(s["amount"] / s["orders"], 2)
    print(region, s)
""")

_add("unannotated_dicts_and_lists", "reassign_type", r"""
value = "42"
value = int(value)
print(value + 8)
items = "a,b,c"
items = items.split(",")
print(len(items), items)
""")

_add("unannotated_dicts_and_lists", "word_counts_empty_dict", r"""
text = "one two two three three three"
counts = {}
for word in text.split():
    counts[word] = counts.get(word, 0) + 1
print(counts)
ranked = sorted(counts.items(), key=lambda kv: kv[1], reverse=True)
print(ranked[0])
""")

_add("unannotated_dicts_and_lists", "parse_key_values", r"""
raw = "width=800;height=600;scale=1.5;title=Main"
settings = {}
for part in raw.split(";"):
    key, value = part.split("=")
    if value.isdigit():
        settings[key] = int(value)
    else:
        try:
            settings[key] = float(value)
        except ValueError:
            settings[key] = value
print(settings)
print(settings["width"] * settings["scale"])
""")

# --- data

_add("data", "decimal_money", r"""
from decimal import ROUND_HALF_UP, Decimal

prices = [Decimal("19.99"), Decimal("5.01"), Decimal("0.10")]
subtotal = sum(prices, Decimal("0"))
tax = (subtotal * Decimal("0.0825")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
print(subtotal, tax, subtotal + tax)
print(Decimal("0.1") + Decimal("0.2") == Decimal("0.3"))
""")

_add("data", "fractions", r"""
from fractions import Fraction

a = Fraction(1, 3)
b = Fraction(1, 6)
print(a + b, a * b, a / b)
print(Fraction("0.75"), Fraction(3, 4) == 0.75)
print(sum(Fraction(1, n) for n in range(1, 5)))
""")

_add("data", "csv_reader_lines", r"""
import csv

text = '''name,dept,salary
ann,eng,120
bob,ops,90
"smith, jo",eng,100'''
reader = csv.DictReader(text.splitlines())
rows = list(reader)
print(len(rows), rows[2]["name"])
by_dept = {}
for row in rows:
    by_dept[row["dept"]] = by_dept.get(row["dept"], 0) + int(row["salary"])
print(by_dept)
""")

_add("data", "csv_writer_stringio", r"""
import csv
import io

buffer = io.StringIO()
writer = csv.writer(buffer, lineterminator="\n")
writer.writerow(["city", "temp"])
writer.writerows([["Oslo", 12.5], ["Rome, IT", 24]])
print(buffer.getvalue(), end="")
""")

_add("data", "difflib_close_matches", r"""
import difflib

commands = ["start", "stop", "status", "restart"]
print(difflib.get_close_matches("stat", commands))
print(difflib.get_close_matches("strat", commands, n=1))
ratio = difflib.SequenceMatcher(None, "kitten", "sitting").ratio()
print(round(ratio, 3))
""")

_add("data", "difflib_unified_diff", r"""
import difflib

old = ["apple", "banana", "cherry"]
new = ["apple", "blueberry", "cherry", "date"]
for line in difflib.unified_diff(old, new, "old", "new", lineterm=""):
    print(line)
""")

_add("data", "copy_deepcopy", r"""
import copy

original = {"name": "cfg", "layers": [[1, 2], [3, 4]]}
shallow = copy.copy(original)
deep = copy.deepcopy(original)
original["layers"][0].append(99)
print(shallow["layers"][0])
print(deep["layers"][0])
""")

_add("data", "decimal_precision", r"""
from decimal import Decimal, getcontext

getcontext().prec = 30
print(Decimal(1) / Decimal(7))
print(Decimal("2").sqrt())
print(Decimal("1.10") * 3, Decimal("10").quantize(Decimal("0.00")))
""")

_add("data", "fraction_limit_denominator", r"""
from fractions import Fraction
import math

approx = Fraction(math.pi).limit_denominator(1000)
print(approx, float(approx))
ratio = Fraction(1920, 1080)
print(f"{ratio.numerator}:{ratio.denominator}")
""")

_add("data", "unicodedata_names", r"""
import unicodedata

for ch in ["A", "\u00e9", "\u20ac", "7"]:
    print(repr(ch), unicodedata.name(ch), unicodedata.category(ch))
print(unicodedata.normalize("NFD", "\u00e9") == "e\u0301")
stripped = "".join(c for c in unicodedata.normalize("NFD", "Cr\u00e8me Br\u00fbl\u00e9e")
                   if not unicodedata.combining(c))
print(stripped)
""")

_add("data", "csv_average_by_column", r"""
import csv
import statistics

data = '''product,units,price
pen,10,1.5
pad,4,3.25
ink,7,8.0'''
rows = list(csv.reader(data.splitlines()))
header, body = rows[0], rows[1:]
units = [int(r[header.index("units")]) for r in body]
revenue = [int(r[1]) * float(r[2]) for r in body]
print(statistics.mean(units), sum(revenue))
""")

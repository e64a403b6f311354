"""An online shop: customers, a product catalogue with stock, and orders with nested line items.

About 600 customers, 72 products and 4,000 orders from 2024, generated deterministically. The
shop lives in the trusted process; snippets reach it only through the tools. ``restock`` and
``cancel_order`` change it, so ``reset()`` restores the initial state.
"""

from __future__ import annotations

import datetime
import enum
import random

from pydantic import BaseModel, Field

from engine import tool


class Tier(enum.StrEnum):
    """A customer's loyalty tier."""

    BRONZE = "BRONZE"
    SILVER = "SILVER"
    GOLD = "GOLD"


class ProductCategory(enum.StrEnum):
    """The department of the catalogue a product belongs to."""

    BOOKS = "BOOKS"
    ELECTRONICS = "ELECTRONICS"
    GARDEN = "GARDEN"
    KITCHEN = "KITCHEN"
    TOYS = "TOYS"
    SPORTS = "SPORTS"


class OrderStatus(enum.StrEnum):
    """Where an order is in its life: PENDING -> PAID -> SHIPPED -> DELIVERED (or RETURNED);
    PENDING and PAID orders can be CANCELLED."""

    PENDING = "PENDING"
    PAID = "PAID"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"
    RETURNED = "RETURNED"


class ShippingAddress(BaseModel):
    """A postal address: where a customer lives, or where an order is sent."""

    recipient: str
    street: str
    city: str
    postal_code: str
    country: str = Field(description="ISO 3166 alpha-2 country code, e.g. 'DE'")


class Customer(BaseModel):
    """A shop customer."""

    id: int
    name: str
    email: str
    tier: Tier
    joined: datetime.date
    home: ShippingAddress


class Product(BaseModel):
    """A catalogue entry with its current price and stock."""

    sku: str = Field(description="stock-keeping unit, e.g. 'KIT-0007'")
    name: str
    category: ProductCategory
    price: float = Field(description="current list price in USD")
    weight_kg: float = Field(description="shipping weight of one unit")
    stock: int = Field(description="units in the warehouse")
    discontinued: bool = False


class LineItem(BaseModel):
    """One line of an order. Its value is quantity * unit_price * (1 - discount_pct / 100)."""

    sku: str
    quantity: int
    unit_price: float = Field(description="USD per unit when the order was placed")
    discount_pct: int = Field(description="percent off this line, 0 to 20")


class Shipment(BaseModel):
    """How an order travelled."""

    carrier: str
    tracking: str
    shipped_on: datetime.date
    delivered_on: datetime.date | None = Field(
        default=None, description="None while the parcel is still on its way")


class Order(BaseModel):
    """An order with its line items, destination and (once shipped) shipment."""

    id: int
    customer_id: int
    placed_on: datetime.date
    status: OrderStatus
    items: list[LineItem]
    ship_to: ShippingAddress
    shipment: Shipment | None = Field(
        default=None, description="set for SHIPPED, DELIVERED and RETURNED orders")
    coupon: str | None = None


_CATALOGUE: dict[ProductCategory, tuple[str, tuple[str, ...], tuple[float, float],
                                        tuple[float, float]]] = {
    ProductCategory.BOOKS: ("BOK", ("Atlas", "Cookbook", "Novel", "Field Guide", "Poetry Book",
                                    "Biography"), (6.0, 45.0), (0.2, 1.5)),
    ProductCategory.ELECTRONICS: ("ELC", ("Headphones", "Speaker", "Charger", "Tablet",
                                          "Camera", "Router"), (15.0, 480.0), (0.1, 2.0)),
    ProductCategory.GARDEN: ("GRD", ("Hose", "Rake", "Planter", "Shears", "Lantern",
                                     "Bird Feeder"), (8.0, 120.0), (0.5, 8.0)),
    ProductCategory.KITCHEN: ("KIT", ("Kettle", "Skillet", "Knife Set", "Blender", "Teapot",
                                      "Cutting Board"), (9.0, 220.0), (0.3, 5.0)),
    ProductCategory.TOYS: ("TOY", ("Puzzle", "Kite", "Robot", "Board Game", "Yo-yo",
                                   "Building Set"), (4.0, 90.0), (0.1, 2.5)),
    ProductCategory.SPORTS: ("SPT", ("Racket", "Yoga Mat", "Helmet", "Dumbbell", "Ball",
                                     "Water Bottle"), (7.0, 260.0), (0.2, 9.0)),
}
_ADJECTIVES = ("Classic", "Compact", "Deluxe", "Eco", "Nordic", "Pro", "Retro", "Urban")
_FIRST = ("Ada", "Bruno", "Chloe", "Dmitri", "Esme", "Farid", "Greta", "Hugo", "Ines", "Jonas",
          "Keiko", "Liam", "Maya", "Nico", "Olga", "Pedro", "Quinn", "Rosa", "Sami", "Tara")
_LAST = ("Abbott", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Gomez", "Haddad", "Ito",
         "Jansen", "Kowalski", "Laine", "Moreau", "Nakamura", "Ortiz", "Petrov")
_PLACES = {
    "US": ("Denver", "Portland", "Raleigh"), "CA": ("Toronto", "Calgary"),
    "GB": ("Bristol", "York"), "DE": ("Hamburg", "Leipzig"), "FR": ("Nantes", "Lille"),
    "NL": ("Utrecht",), "IT": ("Turin", "Bologna"), "ES": ("Valencia",), "JP": ("Sapporo",),
    "AU": ("Perth", "Hobart"),
}
_COUNTRY_WEIGHTS = {"US": 30, "CA": 8, "GB": 10, "DE": 10, "FR": 8, "NL": 5, "IT": 6, "ES": 5,
                    "JP": 8, "AU": 10}
_EU = frozenset({"DE", "FR", "NL", "IT", "ES"})
_STREETS = ("Oak St", "Maple Ave", "Station Rd", "High St", "Lake Dr", "Mill Ln", "Park Way")
_CARRIERS = ("FastShip", "GlobalPost", "ParcelGo", "SwiftLine")
_COUPONS = ("SPRING10", "WELCOME5", "VIP20")
_STATUSES = (
    (OrderStatus.DELIVERED, 55), (OrderStatus.SHIPPED, 10), (OrderStatus.PAID, 9),
    (OrderStatus.PENDING, 8), (OrderStatus.CANCELLED, 10), (OrderStatus.RETURNED, 8),
)


def _address(rng: random.Random, recipient: str) -> ShippingAddress:
    country = rng.choices(list(_COUNTRY_WEIGHTS), weights=list(_COUNTRY_WEIGHTS.values()))[0]
    return ShippingAddress(
        recipient=recipient, street=f"{rng.randint(1, 250)} {rng.choice(_STREETS)}",
        city=rng.choice(_PLACES[country]), postal_code=f"{rng.randint(1000, 99999):05d}",
        country=country,
    )


class Shop:
    """The in-memory store behind the tools; deterministic for a given seed."""

    def __init__(self, customers: int = 600, orders: int = 4_000, seed: int = 11) -> None:
        rng = random.Random(seed)
        self.products: dict[str, Product] = {}
        for category, (prefix, nouns, (low, high), (light, heavy)) in _CATALOGUE.items():
            for n in range(1, 13):
                sku = f"{prefix}-{n * 7 + rng.randint(0, 6):04d}"
                self.products[sku] = Product(
                    sku=sku, name=f"{rng.choice(_ADJECTIVES)} {rng.choice(nouns)}",
                    category=category, price=round(rng.uniform(low, high), 2),
                    weight_kg=round(rng.uniform(light, heavy), 2),
                    stock=rng.choice((0, rng.randint(1, 30), rng.randint(20, 400))),
                    discontinued=rng.random() < 0.1,
                )
        self.customers: dict[int, Customer] = {}
        for i in range(1, customers + 1):
            name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
            tier = rng.choices(list(Tier), weights=(70, 22, 8))[0]
            self.customers[i] = Customer(
                id=i, name=name, email=f"{name.lower().replace(' ', '.')}.{i}@shop.example",
                tier=tier,
                joined=datetime.date(2019, 1, 1) + datetime.timedelta(days=rng.randint(0, 1900)),
                home=_address(rng, name),
            )
        skus = list(self.products)
        statuses = [s for s, _ in _STATUSES]
        weights = [w for _, w in _STATUSES]
        self.orders: dict[int, Order] = {}
        for order_id in range(1001, 1001 + orders):
            customer = self.customers[rng.randint(1, customers)]
            placed = datetime.date(2024, 1, 1) + datetime.timedelta(days=rng.randint(0, 365))
            items = []
            for sku in rng.sample(skus, rng.choices((1, 2, 3, 4, 5), weights=(35, 30, 18, 10,
                                                                              7))[0]):
                product = self.products[sku]
                items.append(LineItem(
                    sku=sku, quantity=rng.choices((1, 2, 3, 4, 6), weights=(60, 20, 10, 6, 4))[0],
                    unit_price=round(product.price * rng.choice((1.0, 1.0, 0.95, 1.05)), 2),
                    discount_pct=rng.choice((0, 0, 0, 0, 0, 0, 5, 10, 15, 20)),
                ))
            status = rng.choices(statuses, weights=weights)[0]
            shipment = None
            if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.RETURNED):
                carrier = rng.choice(_CARRIERS)
                shipped = placed + datetime.timedelta(days=rng.randint(1, 4))
                delivered = (None if status is OrderStatus.SHIPPED
                             else shipped + datetime.timedelta(days=rng.randint(1, 9)))
                shipment = Shipment(carrier=carrier,
                                    tracking=f"{carrier[:2].upper()}{rng.randint(10**8, 10**9)}",
                                    shipped_on=shipped, delivered_on=delivered)
            gift = rng.random() < 0.15
            ship_to = (_address(rng, f"{rng.choice(_FIRST)} {rng.choice(_LAST)}") if gift
                       else customer.home)
            self.orders[order_id] = Order(
                id=order_id, customer_id=customer.id, placed_on=placed, status=status,
                items=items, ship_to=ship_to, shipment=shipment,
                coupon=rng.choice(_COUPONS) if rng.random() < 0.15 else None,
            )


SHOP = Shop()


def reset(customers: int = 600, orders: int = 4_000, seed: int = 11) -> None:
    """Restore the shop to its initial state (tests and benchmarks call this)."""
    global SHOP  # noqa: PLW0603 - the tools read the module's current shop
    SHOP = Shop(customers, orders, seed)


def _product(sku: str) -> Product:
    if sku not in SHOP.products:
        raise KeyError(f"no product with SKU {sku!r}")
    return SHOP.products[sku]


def _order(order_id: int) -> Order:
    if order_id not in SHOP.orders:
        raise KeyError(f"no order {order_id}; ids run from {min(SHOP.orders)} to "
                       f"{max(SHOP.orders)}")
    return SHOP.orders[order_id]


@tool
def list_customer_ids() -> list[int]:
    """Ids of every customer, ascending."""
    return sorted(SHOP.customers)


@tool
def get_customer(customer_id: int) -> Customer:
    """The customer with this id. Raises KeyError if there is none."""
    if customer_id not in SHOP.customers:
        raise KeyError(f"no customer {customer_id}")
    return SHOP.customers[customer_id]


@tool
def find_customers(name: str) -> list[Customer]:
    """Customers whose name contains `name` (case-insensitive), by ascending id."""
    needle = name.casefold()
    return [c for c in SHOP.customers.values() if needle in c.name.casefold()]


@tool
def list_skus(category: ProductCategory | None = None) -> list[str]:
    """SKUs of every product, or of one category, sorted."""
    return sorted(p.sku for p in SHOP.products.values()
                  if category is None or p.category is category)


@tool
def get_product(sku: str) -> Product:
    """The product with this SKU, with its current stock. Raises KeyError if there is none."""
    return _product(sku)


@tool
def list_order_ids() -> list[int]:
    """Ids of every order, ascending."""
    return sorted(SHOP.orders)


@tool
def get_order(order_id: int) -> Order:
    """The order with this id, with its line items. Raises KeyError if there is none."""
    return _order(order_id)


@tool
def orders_of_customer(customer_id: int) -> list[int]:
    """Ids of the orders a customer placed, ascending (empty if none)."""
    return [o.id for o in SHOP.orders.values() if o.customer_id == customer_id]


@tool
def shipping_quote(weight_kg: float, country: str) -> float:
    """The USD cost of shipping a parcel of this weight from the US warehouse to a country.

    US: 5.00 + 1.20/kg; Canada and the EU: 9.00 + 2.50/kg; elsewhere: 14.00 + 4.00/kg.
    """
    if weight_kg < 0:
        raise ValueError("weight_kg must not be negative")
    if country == "US":
        base, per_kg = 5.0, 1.2
    elif country == "CA" or country in _EU:
        base, per_kg = 9.0, 2.5
    else:
        base, per_kg = 14.0, 4.0
    return round(base + per_kg * weight_kg, 2)


@tool
def restock(sku: str, quantity: int) -> int:
    """Add `quantity` (> 0) units of a product to the warehouse. Returns the new stock level."""
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    product = _product(sku)
    updated = product.model_copy(update={"stock": product.stock + quantity})
    SHOP.products[sku] = updated
    return updated.stock


@tool
def cancel_order(order_id: int) -> bool:
    """Cancel a PENDING or PAID order and put its items back in stock.

    Returns False (and changes nothing) for an order in any other status.
    """
    order = _order(order_id)
    if order.status not in (OrderStatus.PENDING, OrderStatus.PAID):
        return False
    SHOP.orders[order_id] = order.model_copy(update={"status": OrderStatus.CANCELLED})
    for item in order.items:
        product = SHOP.products[item.sku]
        SHOP.products[item.sku] = product.model_copy(
            update={"stock": product.stock + item.quantity})
    return True


TOOLS = [
    list_customer_ids, get_customer, find_customers, list_skus, get_product, list_order_ids,
    get_order, orders_of_customer, shipping_quote, restock, cancel_order,
]

"""Phone prices by country: the seed's "where is this phone cheapest" example."""

from __future__ import annotations

import enum

from pydantic import BaseModel

from engine import tool


class Currency(enum.StrEnum):
    USD = "USD"
    EUR = "EUR"
    ILS = "ILS"
    JPY = "JPY"
    GBP = "GBP"


class Price(BaseModel):
    """A phone's price in one country, in local currency."""

    model: str
    country: str
    amount: float
    currency: Currency
    in_stock: bool = True


_RATES_TO_USD = {Currency.USD: 1.0, Currency.EUR: 1.08, Currency.ILS: 0.27,
                 Currency.JPY: 0.0067, Currency.GBP: 1.26}
_COUNTRIES = {"US": Currency.USD, "DE": Currency.EUR, "FR": Currency.EUR, "IL": Currency.ILS,
              "JP": Currency.JPY, "GB": Currency.GBP}
_BASE_USD = {"Pixel 9": 799.0, "iPhone 16": 829.0, "Galaxy S25": 859.0, "Fairphone 5": 699.0}
_MARKUP = {"US": 1.0, "DE": 1.12, "FR": 1.15, "IL": 1.21, "JP": 0.97, "GB": 1.09}


@tool
def list_phone_models() -> list[str]:
    """Names of the phone models with known prices."""
    return sorted(_BASE_USD)


@tool
def list_countries() -> list[str]:
    """ISO codes of the countries with price data."""
    return sorted(_COUNTRIES)


@tool
def get_phone_price(model: str, country: str) -> Price | None:
    """The local price of a phone model in a country, or None when it is not sold there."""
    if model not in _BASE_USD or country not in _COUNTRIES:
        return None
    currency = _COUNTRIES[country]
    usd = _BASE_USD[model] * _MARKUP[country]
    amount = round(usd / _RATES_TO_USD[currency], 2)
    in_stock = not (model == "Fairphone 5" and country == "JP")
    return Price(model=model, country=country, amount=amount, currency=currency, in_stock=in_stock)


@tool
def convert_currency(
    amount: float, from_currency: Currency, to_currency: Currency = Currency.USD
) -> float:
    """Convert an amount between currencies at today's rate."""
    return round(amount * _RATES_TO_USD[from_currency] / _RATES_TO_USD[to_currency], 2)


TOOLS = [list_phone_models, list_countries, get_phone_price, convert_currency]

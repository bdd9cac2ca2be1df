"""Constrained value types shared by the schemas: money, rates, currency codes, bounded text."""

from decimal import Decimal
from typing import Annotated

from babel.numbers import list_currencies
from pydantic import AfterValidator, Field, StringConstraints

_ISO_4217 = frozenset(list_currencies())

MAX_AMOUNT = Decimal("999999999.99")


def _check_currency(code: str) -> str:
    if code not in _ISO_4217:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code")
    return code


def _two_places(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("amount must be a finite number")
    return value.quantize(Decimal("0.01"))


Money = Annotated[
    Decimal,
    Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, max_digits=11, decimal_places=2),
    AfterValidator(_two_places),
]
"""An amount of money: a Decimal with two decimal places, serialised as a JSON string ("9.00")."""

UnitPrice = Annotated[
    Decimal, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, max_digits=14, decimal_places=4)
]
"""A price per unit: up to four decimal places, as e-invoices carry (3.3333)."""

Quantity = Annotated[Decimal, Field(ge=Decimal("-999999"), le=Decimal("999999"), max_digits=12, decimal_places=4)]
Rate = Annotated[Decimal, Field(ge=Decimal("0"), le=Decimal("100"), max_digits=6, decimal_places=3)]
"""A tax rate in percent (19 means 19 %)."""

CurrencyCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$", min_length=3, max_length=3),
    AfterValidator(_check_currency),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
TimeText = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")]

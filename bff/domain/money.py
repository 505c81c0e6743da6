"""Money as an integer amount in minor units plus an ISO 4217 code; never a float.

Amounts, like every integer quantity of the domain (Wh, seconds), stay within
:data:`MAX_INT` either way: a bigger one is a provider's garbage (EUR 21 million for a
charge), and beyond it the API's ``Int`` could not carry it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import get_currency_precision, list_currencies

#: The largest integer quantity the domain holds: a GraphQL ``Int`` (32-bit signed).
MAX_INT = 2**31 - 1


class InvalidAmount(ValueError):
    """A number the domain cannot hold: not finite, or beyond :data:`MAX_INT`."""


def scaled(value: Decimal | str | int, exponent: int, what: str = "amount") -> int:
    """``value`` x 10**``exponent``, rounded half up, as an int within ±:data:`MAX_INT`.

    Checked before rounding: a huge value (``1e308``) would overflow Decimal's context,
    and an int of ``1e999999999`` would take the process's memory.
    """
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise InvalidAmount(f"{what} is not a number") from None
    if not number.is_finite():
        raise InvalidAmount(f"{what} is not a finite number")
    if number.copy_abs() > Decimal(MAX_INT).scaleb(-exponent):  # abs() could overflow
        raise InvalidAmount(f"{what} is out of range")
    return int(number.scaleb(exponent).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@lru_cache(maxsize=512)
def currency_exponent(currency: str) -> int:
    """The ISO 4217 minor-unit exponent (JPY 0, EUR 2, KWD 3), from CLDR via Babel."""
    code = currency.upper()
    if code not in _known_currencies():
        raise ValueError(f"unknown currency {currency!r}")
    return int(get_currency_precision(code))


@lru_cache(maxsize=1)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


@lru_cache(maxsize=4096)
def _formatted(amount_minor: int, currency: str) -> str:
    """``"EUR 21.60"``: the code, then the major-unit amount with the currency's exponent
    (kept: a page shows the same few amounts again and again)."""
    exp = currency_exponent(currency)
    return f"{currency} {Decimal(amount_minor).scaleb(-exp):.{exp}f}"


@dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount_minor, int) or isinstance(self.amount_minor, bool):
            raise TypeError("amount_minor must be an int")
        if abs(self.amount_minor) > MAX_INT:
            raise InvalidAmount("amount is out of range")
        currency_exponent(self.currency)

    @classmethod
    def from_major(cls, amount: Decimal | str | int, currency: str) -> Money:
        """From a decimal major-unit amount ("5.32" EUR -> 532), rounding half up;
        :class:`InvalidAmount` when it is not finite or out of range."""
        return cls(scaled(amount, currency_exponent(currency)), currency.upper())

    @property
    def exponent(self) -> int:
        return currency_exponent(self.currency)

    @property
    def major(self) -> Decimal:
        return Decimal(self.amount_minor).scaleb(-self.exponent)

    def formatted(self) -> str:
        return _formatted(self.amount_minor, self.currency)

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError("cannot add different currencies")
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError("cannot subtract different currencies")
        return Money(self.amount_minor - other.amount_minor, self.currency)


def vat_split(total_incl: Money, vat_percent: Decimal) -> Money:
    """The amount excluding VAT for a total including it, rounded half up in minor units."""
    excl = (Decimal(total_incl.amount_minor) * 100 / (100 + vat_percent)).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    return Money(int(excl), total_incl.currency)

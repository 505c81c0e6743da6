"""Money as an integer amount in minor units plus an ISO 4217 code; never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.numbers import get_currency_precision, list_currencies


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
        currency_exponent(self.currency)

    @classmethod
    def from_major(cls, amount: Decimal | str | int, currency: str) -> Money:
        """From a decimal major-unit amount ("5.32" EUR -> 532), rounding half up."""
        exp = currency_exponent(currency)
        quantum = Decimal(1).scaleb(-exp)
        major = Decimal(str(amount)).quantize(quantum, rounding=ROUND_HALF_UP)
        return cls(int(major.scaleb(exp)), currency.upper())

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

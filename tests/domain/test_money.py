"""Money in minor units with the currency's own ISO 4217 exponent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bff.domain.model import Energy
from bff.domain.money import MAX_INT, InvalidAmount, Money, currency_exponent, vat_split


@pytest.mark.parametrize(
    ("currency", "exponent", "major", "minor", "formatted"),
    [
        ("JPY", 0, "1234", 1234, "JPY 1234"),
        ("EUR", 2, "21.60", 2160, "EUR 21.60"),
        ("PLN", 2, "0.05", 5, "PLN 0.05"),
        ("KWD", 3, "1.234", 1234, "KWD 1.234"),
        ("BHD", 3, "0.1", 100, "BHD 0.100"),
    ],
)
def test_exponent_classes(currency: str, exponent: int, major: str, minor: int,
                          formatted: str) -> None:
    assert currency_exponent(currency) == exponent
    m = Money.from_major(major, currency)
    assert m.amount_minor == minor and m.currency == currency
    assert m.formatted() == formatted
    assert m.major == Decimal(major)


def test_rounding_is_half_up_in_minor_units() -> None:
    assert Money.from_major("5.325", "EUR").amount_minor == 533
    assert Money.from_major("7.5", "JPY").amount_minor == 8
    assert Money.from_major(Decimal("0.0005"), "KWD").amount_minor == 1


def test_never_a_float() -> None:
    with pytest.raises(TypeError):
        Money(12.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown currency"):
        Money(1, "XXY")


def test_arithmetic_keeps_currency() -> None:
    assert Money(150, "EUR") + Money(50, "EUR") == Money(200, "EUR")
    with pytest.raises(ValueError):
        Money(1, "EUR") + Money(1, "PLN")


def test_vat_split() -> None:
    assert vat_split(Money(2460, "PLN"), Decimal(23)) == Money(2000, "PLN")
    assert vat_split(Money(121, "EUR"), Decimal("21")) == Money(100, "EUR")


@pytest.mark.parametrize("amount", ["1e308", "NaN", "Infinity", "-Infinity", "sNaN", "1e30",
                                    "21474836.48", "-21474836.48", "1e999999999", "twelve"])
def test_amounts_the_domain_cannot_hold_are_a_clear_error(amount: str) -> None:
    # Issue 12 item 7: was decimal.InvalidOperation (1e308) or a 10^30 amount.
    with pytest.raises(InvalidAmount):
        Money.from_major(amount, "EUR")


def test_the_largest_amounts_fit_a_graphql_int() -> None:
    assert Money.from_major("21474836.47", "EUR").amount_minor == MAX_INT
    assert Money.from_major("-21474836.47", "EUR").amount_minor == -MAX_INT
    assert Money.from_major("1e-999999999", "EUR").amount_minor == 0
    with pytest.raises(InvalidAmount):
        Money(MAX_INT + 1, "JPY")


@pytest.mark.parametrize("kwh", ["1e308", "NaN", "Infinity", "-0.001", "2147483.648"])
def test_energy_the_domain_cannot_hold_is_a_clear_error(kwh: str) -> None:
    with pytest.raises(InvalidAmount):
        Energy.from_kwh(kwh)


def test_energy_in_range() -> None:
    assert Energy.from_kwh("2147483.647").watt_hours == MAX_INT
    assert Energy.from_kwh(Decimal("1.5")).watt_hours == 1500
    assert Energy.from_kwh(12.25).watt_hours == 12250

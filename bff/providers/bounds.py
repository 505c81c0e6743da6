"""Bounds on the numbers providers send, for every provider's pydantic models.

A number the domain cannot hold (beyond :data:`~bff.domain.money.MAX_INT` in its unit, or
negative where it never is) fails validation at the edge, which names its field: a signed
webhook answers 400 (resending it cannot help), a poll or a read gets the client's
``ProviderUnavailable`` ("a response we do not understand") and nothing is written.
Non-finite decimals (``NaN``, ``Infinity``) pydantic refuses already.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo

from bff.domain.money import MAX_INT, Money

#: Energy in kWh whose Wh the domain holds.
Kwh = Annotated[Decimal, Field(ge=0, le=Decimal(MAX_INT).scaleb(-3))]
#: An amount in minor units, either sign (a balance still owed is negative).
MinorUnits = Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)]
#: A whole number of minutes whose seconds the domain holds.
Minutes = Annotated[int, Field(ge=0, le=MAX_INT // 60)]
#: A count or a physical quantity (watts, volts, amperes) sent as an integer.
Count = Annotated[int, Field(ge=0, le=MAX_INT)]


def _fits_currency(value: Decimal, info: ValidationInfo) -> Decimal:
    currency = info.data.get("currency")
    if currency:
        Money.from_major(value, currency)  # InvalidAmount, a ValueError, names no value
    return value


#: A price in major units of the model's ``currency`` field, which must come before it
#: (pydantic validates fields in order); with no currency it is bounded as if JPY.
MajorPrice = Annotated[Decimal, Field(ge=0, le=MAX_INT), AfterValidator(_fits_currency)]

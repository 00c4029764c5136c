"""Money helpers: Decimal in major units inside records, integer minor units (cents) outside."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["CENT", "ZERO", "cents", "from_cents", "q2", "to_decimal"]

ZERO = Decimal("0")
CENT = Decimal("0.01")


def q2(value: Decimal) -> Decimal:
    """Round to the cent, half up (the sandbox's one rounding rule)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_decimal(value: Any) -> Decimal:
    """A JSON money value (Decimal, int or numeric string) as Decimal; None counts as zero."""
    if value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not money")
    if isinstance(value, int | str):
        return Decimal(value)
    raise TypeError(f"not money: {value!r}")


def cents(value: Any) -> int:
    """Money value in major units → integer minor units (exact; rejects sub-cent amounts)."""
    amount = to_decimal(value)
    scaled = amount * 100
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than two decimals")
    return int(scaled)


def from_cents(value: int) -> Decimal:
    return (Decimal(value) / 100).quantize(CENT)

"""Money as integer minor units with the currency beside it. Never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

# ISO 4217 minor-unit exponents for the currencies a law firm here meets; anything else is 2.
_EXPONENTS: dict[str, int] = {"JPY": 0, "KRW": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3}

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR")]


def minor_unit_exponent(currency: str) -> int:
    """How many decimal places the currency's minor unit has (EUR 2, JPY 0, BHD 3)."""
    return _EXPONENTS.get(currency, 2)


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


class Money(BaseModel):
    """An amount of money: integer minor units (cents, pence) and an ISO 4217 currency.

    Negative amounts are allowed (a credit, a reversal); whether a sign makes sense is the
    business of the rule that uses the amount, not of this type.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount_minor: int = Field(description="Amount in the currency's minor unit (cents, pence).")
    currency: CurrencyCode

    @field_validator("amount_minor", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError("money must not be a float; give integer minor units")
        if isinstance(value, str) and not value.lstrip("-").isdigit():
            raise ValueError("amount_minor must be a whole number of minor units")
        return value

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(amount_minor=0, currency=currency)

    @classmethod
    def of(cls, amount: str | Decimal | int, currency: str) -> Money:
        """Major units exactly as written, e.g. ``Money.of("123.45", "EUR")``.

        More decimal places than the currency has is an error, never a silent rounding.
        """
        value = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
        if not value.is_finite():
            raise ValueError(f"not a finite amount: {amount!r}")
        scaled = value.scaleb(minor_unit_exponent(currency))
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{amount} has more decimal places than {currency} allows")
        return cls(amount_minor=int(scaled), currency=currency)

    @classmethod
    def rounded(cls, amount: Decimal, currency: str) -> Money:
        """Major units rounded half-up to the minor unit (the one VAT rounding policy)."""
        exponent = minor_unit_exponent(currency)
        quantum = Decimal(1).scaleb(-exponent)
        value = amount.quantize(quantum, rounding=ROUND_HALF_UP)
        return cls(amount_minor=int(value.scaleb(exponent)), currency=currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.amount_minor).scaleb(-minor_unit_exponent(self.currency))

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount_minor=self.amount_minor + other.amount_minor, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount_minor=self.amount_minor - other.amount_minor, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount_minor=-self.amount_minor, currency=self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount_minor <= other.amount_minor

    def is_zero(self) -> bool:
        return self.amount_minor == 0

    def is_positive(self) -> bool:
        return self.amount_minor > 0

    def with_amount(self, amount_minor: int) -> Self:
        return self.model_copy(update={"amount_minor": amount_minor})

    def __str__(self) -> str:
        return f"{self.to_decimal():,.{minor_unit_exponent(self.currency)}f} {self.currency}"

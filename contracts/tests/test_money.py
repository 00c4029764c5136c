"""Money is integer minor units with its currency; it refuses floats and mixed currencies."""

from decimal import Decimal

import pytest
from pydantic import ValidationError

from cashroom_contracts.money import CurrencyMismatch, Money


def test_major_units_become_exact_minor_units() -> None:
    assert Money.of("123.45", "EUR").amount_minor == 12345
    assert Money.of("1000", "JPY").amount_minor == 1000
    assert Money.of("1.234", "BHD").amount_minor == 1234


def test_more_decimals_than_the_currency_has_is_refused_not_rounded() -> None:
    with pytest.raises(ValueError, match="more decimal places"):
        Money.of("0.005", "GBP")


def test_vat_is_rounded_half_up_to_the_penny() -> None:
    # 20% of 10.03 = 2.006 -> 2.01; 23% of 0.5 = 0.115 -> 0.12
    assert Money.rounded(Decimal("10.03") * Decimal("0.20"), "GBP").amount_minor == 201
    assert Money.rounded(Decimal("0.50") * Decimal("0.23"), "EUR").amount_minor == 12


def test_a_float_is_never_accepted_as_money() -> None:
    with pytest.raises(ValidationError, match="float"):
        Money(amount_minor=10.5, currency="EUR")
    with pytest.raises(ValidationError):
        Money.model_validate_json('{"amount_minor": 10.0, "currency": "EUR"}')


def test_currency_must_be_an_iso_code() -> None:
    with pytest.raises(ValidationError):
        Money(amount_minor=1, currency="euro")


def test_adding_different_currencies_is_an_error() -> None:
    with pytest.raises(CurrencyMismatch):
        _ = Money.of("1", "EUR") + Money.of("1", "GBP")


def test_arithmetic_and_display() -> None:
    total = Money.of("10.10", "GBP") + Money.of("0.90", "GBP") - Money.of("1", "GBP")
    assert total == Money(amount_minor=1000, currency="GBP")
    assert -total == Money(amount_minor=-1000, currency="GBP")
    assert str(Money.of("1234.5", "EUR")) == "1,234.50 EUR"
    assert total.to_decimal() == Decimal("10.00")

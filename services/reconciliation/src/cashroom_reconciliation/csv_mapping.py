"""A bank's CSV layout as JSON (the ``csv_mapping`` form field of a statement import), and the
domain's ``CsvMapping`` it becomes.

::

    {"booking_date": "Date", "value_date": "Value date",
     "amount": {"debit": "Money out", "credit": "Money in"},
     "description": ["Description"], "reference": "Reference", "balance": "Balance",
     "date_formats": ["%d/%m/%Y"], "number_format": {"decimal_separator": ".",
     "thousands_separator": ","}}

Columns are header texts or 0-based indexes. ``amount`` is one of ``{"signed": col,
"negate": false}``, ``{"debit": col, "credit": col}`` or ``{"amount": col, "indicator": col,
"debit_codes": [...], "credit_codes": [...]}``. ``account`` (``{"iban"|"number"|"bank_code"}``)
and ``currency`` default to the bank account's own. The mapping that imported a file is kept
for the account, so the next CSV file of that bank needs none.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cashroom_reconciliation.domain import (
    AccountIdentification,
    AmountWithIndicator,
    CsvMapping,
    DebitCreditColumns,
    NumberFormat,
    RowOrder,
    SignedAmount,
)

Col = str | int


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountJson(_Strict):
    iban: str | None = None
    number: str | None = None
    bank_code: str | None = None


class SignedJson(_Strict):
    signed: Col
    negate: bool = False


class DebitCreditJson(_Strict):
    debit: Col
    credit: Col


class IndicatorJson(_Strict):
    amount: Col
    indicator: Col
    debit_codes: list[str] = Field(default_factory=lambda: ["DR", "D", "DEBIT", "DB"])
    credit_codes: list[str] = Field(default_factory=lambda: ["CR", "C", "CREDIT"])


class NumberFormatJson(_Strict):
    decimal_separator: str = "."
    thousands_separator: str | None = ","


class CsvMappingJson(_Strict):
    account: AccountJson | None = None
    currency: str | None = None
    booking_date: Col
    amount: SignedJson | DebitCreditJson | IndicatorJson
    description: list[Col] | Col
    value_date: Col | None = None
    reference: Col | None = None
    counterparty: Col | None = None
    balance: Col | None = None
    currency_column: Col | None = None
    date_formats: list[str] = Field(default_factory=lambda: ["%d/%m/%Y"])
    number_format: NumberFormatJson = Field(default_factory=NumberFormatJson)
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    header_line: int = 1
    row_order: Literal["auto", "oldest_first", "newest_first"] = "auto"


class BadCsvMapping(ValueError):
    """The csv_mapping given cannot describe a CSV file; the message says why."""


def read_mapping(text: str) -> CsvMappingJson:
    try:
        raw = json.loads(text)
    except ValueError as error:
        raise BadCsvMapping(f"csv_mapping is not JSON: {error}") from None
    return mapping_from_json(raw)


def mapping_from_json(raw: Any) -> CsvMappingJson:
    try:
        return CsvMappingJson.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or '(root)'}: {item['msg']}"
            for item in error.errors()[:5]
        )
        raise BadCsvMapping(f"csv_mapping is not a CSV mapping: {problems}") from None


def to_domain(
    mapping: CsvMappingJson,
    *,
    default_account: AccountIdentification | None,
    default_currency: str,
) -> CsvMapping:
    if mapping.account is not None:
        try:
            account = AccountIdentification(
                iban=mapping.account.iban,
                number=mapping.account.number,
                bank_code=mapping.account.bank_code,
            )
        except ValueError as error:
            raise BadCsvMapping(f"csv_mapping.account: {error}") from None
    elif default_account is not None:
        account = default_account
    else:
        raise BadCsvMapping(
            "csv_mapping.account is required (CSV exports rarely name their account, and no "
            "statement has pinned this account's IBAN or number yet)"
        )
    amount: SignedAmount | DebitCreditColumns | AmountWithIndicator
    if isinstance(mapping.amount, SignedJson):
        amount = SignedAmount(mapping.amount.signed, mapping.amount.negate)
    elif isinstance(mapping.amount, DebitCreditJson):
        amount = DebitCreditColumns(mapping.amount.debit, mapping.amount.credit)
    else:
        amount = AmountWithIndicator(
            mapping.amount.amount,
            mapping.amount.indicator,
            frozenset(code.upper() for code in mapping.amount.debit_codes),
            frozenset(code.upper() for code in mapping.amount.credit_codes),
        )
    description = (
        tuple(mapping.description)
        if isinstance(mapping.description, list)
        else (mapping.description,)
    )
    try:
        return CsvMapping(
            account=account,
            currency=mapping.currency or default_currency,
            booking_date=mapping.booking_date,
            amount=amount,
            description=description,
            value_date=mapping.value_date,
            reference=mapping.reference,
            counterparty=mapping.counterparty,
            balance=mapping.balance,
            currency_column=mapping.currency_column,
            date_formats=tuple(mapping.date_formats),
            number_format=NumberFormat(
                mapping.number_format.decimal_separator,
                mapping.number_format.thousands_separator,
            ),
            delimiter=mapping.delimiter,
            encoding=mapping.encoding,
            header_line=mapping.header_line,
            row_order=RowOrder(mapping.row_order),
        )
    except ValueError as error:
        raise BadCsvMapping(f"csv_mapping: {error}") from None

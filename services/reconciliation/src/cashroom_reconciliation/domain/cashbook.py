"""The cashbook side of a reconciliation: every posting to the bank account's nominal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from cashroom_contracts.money import Money


class EntryKind(StrEnum):
    RECEIPT = "receipt"  # money into the bank account (positive)
    PAYMENT = "payment"  # money out of the bank account (negative)


@dataclass(frozen=True, slots=True)
class CashbookEntry:
    """One cashbook line: signed from the bank account's side, + for a receipt, − for a payment.

    ``reference`` is what the firm wrote on it: a cheque number, the matter reference it put in
    the payment's remittance, an invoice number.
    """

    entry_id: str
    posted_on: date
    amount: Money
    reference: str
    kind: EntryKind

    def __post_init__(self) -> None:
        if not self.entry_id:
            raise ValueError("a cashbook entry needs an id")
        minor = self.amount.amount_minor
        if self.kind is EntryKind.RECEIPT and minor <= 0:
            raise ValueError(
                f"receipt {self.entry_id} must be a positive amount, not {self.amount}"
            )
        if self.kind is EntryKind.PAYMENT and minor >= 0:
            raise ValueError(
                f"payment {self.entry_id} must be a negative amount, not {self.amount}"
            )

    @classmethod
    def of(
        cls, entry_id: str, posted_on: date, amount: Money, reference: str = ""
    ) -> CashbookEntry:
        """An entry whose kind follows from its sign."""
        kind = EntryKind.RECEIPT if amount.amount_minor > 0 else EntryKind.PAYMENT
        return cls(entry_id, posted_on, amount, reference, kind)

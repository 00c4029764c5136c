"""The cashbook side of a reconciliation: every posting to the bank account's nominal.

The cashbook is mirrored from the ledger's ``JournalPosted`` events: each journal line on a bank
nominal is one entry, identified by its journal id and line index, dated the journal's date,
signed from the bank's side (a debit to the bank nominal is money in). A reversing journal's
entries cancel the entries of the journal they reverse (``pair_reversals``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from cashroom_contracts.events.ledger import JournalPosted
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


@dataclass(frozen=True, slots=True)
class MirroredEntry:
    """A journal line on a bank nominal, as the cashbook mirror keeps it."""

    entry_id: str  # the journal id and the line's index in it: "<uuid>:<index>"
    bank_account_id: int
    journal_id: uuid.UUID
    line_index: int
    posted_on: date
    amount: Money  # debit positive (money into the bank), credit negative
    reference: str
    journal_kind: str
    account_code: str
    reverses_journal_id: uuid.UUID | None

    def as_entry(self) -> CashbookEntry:
        return CashbookEntry.of(self.entry_id, self.posted_on, self.amount, self.reference)


def entry_id_of(journal_id: uuid.UUID, line_index: int) -> str:
    return f"{journal_id}:{line_index}"


def cashbook_entries_of(
    journal: JournalPosted, bank_nominals: Mapping[str, int]
) -> list[MirroredEntry]:
    """The journal's lines on a bank nominal, each a cashbook entry.

    ``bank_nominals`` maps the firm's bank nominal codes (role office_bank or client_bank) to the
    bank account each stands for. A line is on a bank nominal when its code is one of them; a
    line on a nominal not announced yet counts too when it names a bank account and is not a
    client-ledger line (the contract sets ``bank_account_id`` on bank nominal lines and on
    client-column lines only, and a client-column line carries its matter and side).
    """
    found: list[MirroredEntry] = []
    for index, line in enumerate(journal.lines):
        bank_account_id = bank_nominals.get(line.account_code)
        if bank_account_id is None:
            is_client_column = line.ledger_side is not None or line.matter_id is not None
            if line.bank_account_id is None or is_client_column:
                continue
            bank_account_id = line.bank_account_id
        elif line.bank_account_id is not None:
            bank_account_id = line.bank_account_id
        signed = line.debit.amount_minor - line.credit.amount_minor
        if signed == 0:
            continue
        found.append(
            MirroredEntry(
                entry_id=entry_id_of(journal.journal_id, index),
                bank_account_id=bank_account_id,
                journal_id=journal.journal_id,
                line_index=index,
                posted_on=journal.posted_on,
                amount=Money(amount_minor=signed, currency=line.debit.currency),
                reference=_reference(journal.narrative, line.narrative),
                journal_kind=journal.kind,
                account_code=line.account_code,
                reverses_journal_id=journal.reverses_journal_id,
            )
        )
    return found


def _reference(journal_narrative: str, line_narrative: str | None) -> str:
    """What the firm wrote: the journal's narrative (it quotes the bank reference Clio holds,
    e.g. "... (LODG-000001)") and the line's own narrative when it says more."""
    if line_narrative and line_narrative.strip() and line_narrative != journal_narrative:
        return f"{journal_narrative} {line_narrative}"
    return journal_narrative


def pair_reversals(
    reversing: Sequence[MirroredEntry], reversed_entries: Sequence[MirroredEntry]
) -> list[tuple[MirroredEntry, MirroredEntry]]:
    """Each entry of a reversing journal with the entry it cancels: the reversed journal's line
    on the same bank account with the opposite amount (each used once)."""
    pairs: list[tuple[MirroredEntry, MirroredEntry]] = []
    taken: set[str] = set()
    for entry in reversing:
        for original in reversed_entries:
            if (
                original.entry_id not in taken
                and original.bank_account_id == entry.bank_account_id
                and original.amount == -entry.amount
            ):
                taken.add(original.entry_id)
                pairs.append((entry, original))
                break
    return pairs

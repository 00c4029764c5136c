"""What one posted journal changes in the balances: per nominal, per matter column (office or
client side, per nominal), per VAT tag, each as a debit and a credit on the journal's date."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from cashroom_contracts.events.ledger import JournalLine, JournalPosted


class MalformedJournal(ValueError):
    """The journal cannot be a ledger's journal: it does not balance, or a line is not one-sided."""


@dataclass(frozen=True, slots=True)
class Movement:
    debit: int
    credit: int

    def __add__(self, other: Movement) -> Movement:
        return Movement(self.debit + other.debit, self.credit + other.credit)

    @property
    def net(self) -> int:
        """Debit minus credit."""
        return self.debit - self.credit


ZERO = Movement(0, 0)

AccountKey = tuple[str, str]  # account code, currency
MatterKey = tuple[int, str, str, str]  # matter, side, account code, currency
VatKey = tuple[str, str]  # vat code, currency


def line_currency(line: JournalLine) -> str:
    return line.debit.currency


def check_journal(journal: JournalPosted) -> None:
    """I-1: each line is one-sided in one currency and the journal balances per currency."""
    problems = []
    totals: dict[str, Movement] = defaultdict(lambda: ZERO)
    for number, line in enumerate(journal.lines, start=1):
        if line.debit.currency != line.credit.currency:
            problems.append(f"line {number} mixes {line.debit.currency} and {line.credit.currency}")
        debit, credit = line.debit.amount_minor, line.credit.amount_minor
        if debit < 0 or credit < 0 or (debit > 0) == (credit > 0):
            problems.append(
                f"line {number} ({line.account_code}) must have exactly one of debit and credit "
                f"positive, not debit {debit} and credit {credit}"
            )
        totals[line_currency(line)] += Movement(debit, credit)
    for currency, total in sorted(totals.items()):
        if total.debit != total.credit:
            problems.append(
                f"debits {total.debit} and credits {total.credit} in {currency} do not balance"
            )
    if problems:
        raise MalformedJournal(f"journal {journal.journal_id}: " + "; ".join(problems))


def _movement(line: JournalLine) -> Movement:
    return Movement(line.debit.amount_minor, line.credit.amount_minor)


def account_movements(journal: JournalPosted) -> dict[AccountKey, Movement]:
    totals: dict[AccountKey, Movement] = defaultdict(lambda: ZERO)
    for line in journal.lines:
        totals[(line.account_code, line_currency(line))] += _movement(line)
    return dict(totals)


def matter_movements(journal: JournalPosted) -> dict[MatterKey, Movement]:
    """Lines on a matter's ledger card. A matter line without a side is taken as office side
    (the ledger always sets it; the office side is the one that is not client money)."""
    totals: dict[MatterKey, Movement] = defaultdict(lambda: ZERO)
    for line in journal.lines:
        if line.matter_id is None:
            continue
        side = line.ledger_side.value if line.ledger_side is not None else "office"
        totals[(line.matter_id, side, line.account_code, line_currency(line))] += _movement(line)
    return dict(totals)


def vat_movements(journal: JournalPosted) -> dict[VatKey, Movement]:
    totals: dict[VatKey, Movement] = defaultdict(lambda: ZERO)
    for line in journal.lines:
        if line.vat_code:
            totals[(line.vat_code, line_currency(line))] += _movement(line)
    return dict(totals)


def bank_links(journal: JournalPosted) -> set[tuple[int, str]]:
    """(bank account, nominal) pairs the journal shows: the nominal that is that bank's cashbook.
    Client-column lines also name their bank account; they are matter lines, not the cashbook."""
    return {
        (line.bank_account_id, line.account_code)
        for line in journal.lines
        if line.bank_account_id is not None and line.matter_id is None
    }


def source_key(system: str, object_type: str, object_id: str) -> str:
    """The sub-ledger item a line belongs to when nothing better is known: its journal's source."""
    return f"source:{system}:{object_type}:{object_id}"

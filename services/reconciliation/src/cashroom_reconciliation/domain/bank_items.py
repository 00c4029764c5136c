"""Bank items that cancel each other out on the statement.

A bank charge debited to a client account must not stay there: the firm replaces it from office
money at once (legal-accounting §3: office money pays the firm's costs), and the bank shows the
replacement as a credit that names the charge ("reimb. bank charge CHG-2024Q1-4321"). A charge
the bank refunds, or a payment it returns, looks the same. Neither side is a cashbook entry;
together they net to zero, so they change no figure of the reconciliation statement. They are
listed apart from the unexplained items so the cashier sees what cancelled what.

A pair is a debit and a credit of the same amount, booked within ``window_days`` of each other,
where the credit quotes the debit's reference (or bank id) as whole tokens.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cashroom_reconciliation.domain.matching import LineText, entry_reference_keys
from cashroom_reconciliation.domain.statement import StatementLine


@dataclass(frozen=True, slots=True)
class CancellingPair:
    debit: StatementLine  # the charge (money out)
    credit: StatementLine  # what replaced or refunded it (money in)


@dataclass(frozen=True, slots=True)
class BankItems:
    cancelling: tuple[CancellingPair, ...]
    unexplained: tuple[StatementLine, ...]  # every other line given, in the order given


def pair_cancelling_items(lines: Iterable[StatementLine], *, window_days: int = 5) -> BankItems:
    """Split unexplained statement lines into cancelling pairs and the rest."""
    given = list(lines)
    credits_by_amount: dict[tuple[int, str], list[int]] = {}
    for index, line in enumerate(given):
        if line.amount.amount_minor > 0:
            key = (line.amount.amount_minor, line.amount.currency)
            credits_by_amount.setdefault(key, []).append(index)
    used: set[int] = set()
    pairs: list[CancellingPair] = []
    debits = sorted(
        (i for i, line in enumerate(given) if line.amount.amount_minor < 0),
        key=lambda i: (given[i].booking_date, given[i].bank_id),
    )
    for i in debits:
        debit = given[i]
        keys = entry_reference_keys(debit.reference or "") | entry_reference_keys(debit.bank_id)
        if not keys:
            continue
        candidates = credits_by_amount.get((-debit.amount.amount_minor, debit.amount.currency), [])
        best: int | None = None
        for j in candidates:
            credit = given[j]
            distance = abs((credit.booking_date - debit.booking_date).days)
            if j in used or distance > window_days:
                continue
            text = LineText(credit)
            if not any(text.holds(key) for key in keys):
                continue
            if best is None or distance < abs((given[best].booking_date - debit.booking_date).days):
                best = j
        if best is not None:
            used.update((i, best))
            pairs.append(CancellingPair(debit, given[best]))
    rest = tuple(line for index, line in enumerate(given) if index not in used)
    return BankItems(tuple(pairs), rest)

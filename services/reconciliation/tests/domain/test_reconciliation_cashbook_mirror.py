"""The cashbook mirror's rule, without I/O: which journal lines are bank lines, their ids and
signs; a reversing journal's entries cancel the entries they reverse."""

import uuid
from datetime import date

from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.ledger import JournalLine, JournalPosted, PostingSource
from cashroom_contracts.money import Money
from cashroom_reconciliation.domain import EntryKind, cashbook_entries_of, pair_reversals

CLIENT_BANK, OFFICE_BANK = 7002, 7001
NOMINALS = {"1101": CLIENT_BANK, "1001": OFFICE_BANK}


def eur(cents: int) -> Money:
    return Money(amount_minor=cents, currency="EUR")


def line(
    code: str,
    debit: int = 0,
    credit: int = 0,
    *,
    bank: int | None = None,
    matter: int | None = None,
    side: AccountKind | None = None,
    narrative: str | None = None,
) -> JournalLine:
    return JournalLine(
        account_code=code,
        debit=eur(debit),
        credit=eur(credit),
        bank_account_id=bank,
        matter_id=matter,
        ledger_side=side,
        narrative=narrative,
    )


def journal(*lines: JournalLine, reverses: uuid.UUID | None = None) -> JournalPosted:
    return JournalPosted(
        journal_id=uuid.uuid4(),
        posted_on=date(2025, 3, 3),
        kind="client_receipt",
        narrative="Client money received — M0042 (LODG-000001)",
        source=PostingSource(system="clio", object_type="BankTransaction", object_id="66001"),
        reverses_journal_id=reverses,
        lines=list(lines),
    )


def test_a_receipt_is_one_entry_on_the_client_bank_and_its_client_ledger_line_is_not() -> None:
    receipt = journal(
        line("1101", debit=100_000, bank=CLIENT_BANK),
        line("2100", credit=100_000, bank=CLIENT_BANK, matter=42, side=AccountKind.CLIENT),
    )

    [entry] = cashbook_entries_of(receipt, NOMINALS)

    assert entry.entry_id == f"{receipt.journal_id}:0"
    assert (entry.bank_account_id, entry.posted_on, entry.amount) == (
        CLIENT_BANK,
        date(2025, 3, 3),
        eur(100_000),
    )
    assert entry.as_entry().kind is EntryKind.RECEIPT
    assert entry.reference == "Client money received — M0042 (LODG-000001)"


def test_a_credit_to_a_bank_nominal_is_a_payment_and_the_nominal_names_its_bank_account() -> None:
    payment = journal(
        line("2000", debit=24_600),
        line("1001", credit=24_600, narrative="Cheque 100234"),  # no bank_account_id on the line
    )

    [entry] = cashbook_entries_of(payment, NOMINALS)

    assert (entry.entry_id, entry.bank_account_id, entry.amount) == (
        f"{payment.journal_id}:1",
        OFFICE_BANK,
        eur(-24_600),
    )
    assert entry.as_entry().kind is EntryKind.PAYMENT
    assert entry.reference.endswith("Cheque 100234")  # the line's own narrative is kept too


def test_a_bank_line_on_a_nominal_not_announced_yet_still_counts() -> None:
    early = journal(
        line("1102", debit=5_000, bank=7003),
        line("2100", credit=5_000, bank=7003, matter=9, side=AccountKind.CLIENT),
    )

    assert [(e.bank_account_id, e.amount) for e in cashbook_entries_of(early, NOMINALS)] == [
        (7003, eur(5_000))
    ]


def test_journals_that_do_not_touch_a_bank_give_no_entries() -> None:
    bill = journal(
        line("1200", debit=123_000, matter=42, side=AccountKind.OFFICE),
        line("4000", credit=100_000),
        line("2200", credit=23_000),
    )

    assert cashbook_entries_of(bill, NOMINALS) == []


def test_a_reversal_pairs_each_entry_with_the_one_it_cancels() -> None:
    transfer = journal(
        line("1001", debit=30_000, bank=OFFICE_BANK),
        line("1101", credit=30_000, bank=CLIENT_BANK),
        line("2100", debit=30_000, bank=CLIENT_BANK, matter=42, side=AccountKind.CLIENT),
        line("1200", credit=30_000, matter=42, side=AccountKind.OFFICE),
    )
    undone = journal(
        line("1001", credit=30_000, bank=OFFICE_BANK),
        line("1101", debit=30_000, bank=CLIENT_BANK),
        line("2100", credit=30_000, bank=CLIENT_BANK, matter=42, side=AccountKind.CLIENT),
        line("1200", debit=30_000, matter=42, side=AccountKind.OFFICE),
        reverses=transfer.journal_id,
    )
    originals = cashbook_entries_of(transfer, NOMINALS)
    reversing = cashbook_entries_of(undone, NOMINALS)

    paired = pair_reversals(reversing, originals)

    assert sorted((r.entry_id, o.entry_id) for r, o in paired) == sorted(
        [
            (f"{undone.journal_id}:0", f"{transfer.journal_id}:0"),
            (f"{undone.journal_id}:1", f"{transfer.journal_id}:1"),
        ]
    )
    assert all(r.amount == -o.amount for r, o in paired)

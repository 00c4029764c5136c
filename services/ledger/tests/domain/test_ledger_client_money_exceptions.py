"""A client column never goes below zero at any date (SRA 5.3, I-4).

A posting that would overdraw one — including a back-dated one, checked against every later
date — is not applied: it becomes an overdrawn-client-ledger exception. The cashier fixes it at
source (Clio) and resyncs, or records it as a breach, which posts it and enters the breach
register. If money dated earlier arrives later (the sync's order is not the bank's), the posting
goes through by itself.
"""

import pytest
from ledger_domain_builders import (
    CLIENT_ACCOUNT,
    MATTER,
    bill_approved,
    bill_changed,
    bill_content,
    bill_payment,
    client_money_paid,
    client_money_received,
    fee,
    new_ledger,
    on,
    posted,
    send,
)

from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.ledger import ExceptionKind, ExceptionResolution
from cashroom_ledger.domain.invariants import overdrawn_client_ledgers
from cashroom_ledger.domain.ledger import Ledger, LedgerError
from cashroom_ledger.domain.outcomes import (
    ExceptionRaised,
    ExceptionRecord,
    ExceptionResolved,
    Outcome,
)


def exception_of(outcomes: list[Outcome]) -> ExceptionRecord:
    (outcome,) = [o for o in outcomes if isinstance(o, ExceptionRaised)]
    return outcome.record


def resolutions(outcomes: list[Outcome]) -> list[ExceptionRecord]:
    return [o.record for o in outcomes if isinstance(o, ExceptionResolved)]


def held(ledger: Ledger, as_of: int | None = None) -> int:
    return ledger.client_balance(MATTER, as_of=on(as_of) if as_of else None).amount_minor


def test_a_payment_beyond_the_money_held_is_an_exception_and_posts_nothing() -> None:
    ledger = new_ledger()
    send(ledger, client_money_received(1, "500.00", day=on(1)))
    record = exception_of(send(ledger, client_money_paid(2, "650.00", day=on(2))))
    assert record.kind is ExceptionKind.OVERDRAWN_CLIENT_LEDGER
    assert record.blocking and record.is_open
    assert record.matter_id == MATTER
    assert record.raised_on == on(2)
    assert record.amount is not None and record.amount.amount_minor == 65000 - 50000
    assert record.detail == (
        "this would overdraw the client ledger of 00042-Byrne on client account 'Client Account' "
        f"(7001) by 150.00 GBP on {on(2)}: client money may be paid out only from money held "
        "for that client (SRA 5.3)"
    )
    assert held(ledger) == 50000
    assert overdrawn_client_ledgers(ledger) == []


def test_a_back_dated_payment_is_checked_against_every_later_date() -> None:
    ledger = new_ledger()
    send(
        ledger,
        client_money_received(1, "1000.00", day=on(1)),
        client_money_paid(2, "800.00", day=on(10)),
    )
    # On the 5th there is 1,000 held, so 300 could go then — but by the 10th the 800 already
    # paid would have left 1,000 - 300 - 800 = -100.
    record = exception_of(send(ledger, client_money_paid(3, "300.00", day=on(5))))
    assert record.raised_on == on(10)
    assert record.amount is not None and record.amount.amount_minor == 10000
    assert held(ledger, 5) == 100000 and held(ledger) == 20000


def test_an_edit_that_shrinks_a_receipt_already_spent_is_an_exception_and_the_old_one_stays() -> (
    None
):
    ledger = new_ledger()
    send(
        ledger,
        client_money_received(1, "1000.00", day=on(1)),
        client_money_paid(2, "800.00", day=on(3)),
    )
    record = exception_of(send(ledger, client_money_received(1, "500.00", day=on(1), version="v2")))
    assert record.kind is ExceptionKind.OVERDRAWN_CLIENT_LEDGER
    # v2 leaves 500 received on the 1st against 800 paid on the 3rd: 300 short on the 3rd
    assert record.amount is not None and record.amount.amount_minor == 80000 - 50000
    assert record.key is not None and ledger.live_version(record.key) == "v1"
    assert held(ledger) == 20000


def test_money_dated_earlier_arriving_later_lets_the_payment_through_by_itself() -> None:
    ledger = new_ledger()
    record = exception_of(send(ledger, client_money_paid(2, "300.00", day=on(5))))
    outcomes = send(ledger, client_money_received(1, "1000.00", day=on(1)))
    assert len(posted(outcomes)) == 2  # the receipt, then the payment that waited on it
    (resolved,) = resolutions(outcomes)
    assert resolved.exception_id == record.exception_id
    assert resolved.resolution is ExceptionResolution.FIXED_AT_SOURCE
    assert resolved.resolved_by == "ledger"
    assert held(ledger) == 100000 - 30000


def test_money_dated_after_the_payment_does_not_excuse_it() -> None:
    ledger = new_ledger()
    record = exception_of(send(ledger, client_money_paid(2, "300.00", day=on(5))))
    outcomes = send(ledger, client_money_received(1, "1000.00", day=on(6)))
    assert len(posted(outcomes)) == 1
    assert ledger.exception(record.exception_id).is_open


def test_fixed_at_source_by_a_corrected_version_from_clio() -> None:
    ledger = new_ledger()
    send(ledger, client_money_received(1, "500.00", day=on(1)))
    record = exception_of(send(ledger, client_money_paid(2, "650.00", day=on(2))))
    outcomes = send(ledger, client_money_paid(2, "450.00", day=on(2), version="v2"))
    (resolved,) = resolutions(outcomes)
    assert resolved.exception_id == record.exception_id
    assert resolved.resolution is ExceptionResolution.FIXED_AT_SOURCE
    assert resolved.resolved_by == "clio"
    assert len(posted(outcomes)) == 1
    assert held(ledger) == 50000 - 45000


def test_a_cashier_cannot_mark_it_fixed_while_it_still_overdraws() -> None:
    ledger = new_ledger()
    record = exception_of(send(ledger, client_money_paid(2, "650.00")))
    journals_before = ledger.journals
    with pytest.raises(LedgerError, match="the posting still breaks the rule"):
        ledger.resolve_exception(
            record.exception_id, ExceptionResolution.FIXED_AT_SOURCE, by="cashier", reason="fixed"
        )
    assert ledger.journals == journals_before
    assert ledger.exception(record.exception_id).is_open
    assert record.key is not None and ledger.pending_for(record.key) is not None


def test_recorded_as_a_breach_it_posts_and_enters_the_breach_register() -> None:
    ledger = new_ledger()
    send(ledger, client_money_received(1, "500.00", day=on(1)))
    record = exception_of(send(ledger, client_money_paid(2, "650.00", day=on(2))))
    outcomes = ledger.resolve_exception(
        record.exception_id,
        ExceptionResolution.RECORDED_AS_BREACH,
        by="COFA",
        reason="paid in error; replaced from office on 3 Feb",
    )
    (journal,) = posted(outcomes)
    (resolved,) = resolutions(outcomes)
    assert resolved.resolution is ExceptionResolution.RECORDED_AS_BREACH
    assert resolved.resolved_by == "COFA"
    (breach,) = ledger.breach_register
    assert breach.exception_id == record.exception_id
    assert breach.journal_ids == (journal.journal_id,)
    assert breach.reason == "paid in error; replaced from office on 3 Feb"
    assert held(ledger) == 50000 - 65000
    (overdrawn,) = overdrawn_client_ledgers(ledger)
    assert (overdrawn.matter_id, overdrawn.bank_account_id) == (MATTER, CLIENT_ACCOUNT)
    assert overdrawn.held.amount_minor == -15000


def test_a_receipt_into_an_overdrawn_ledger_is_never_refused() -> None:
    ledger = new_ledger()
    record = exception_of(send(ledger, client_money_paid(2, "100.00", day=on(2))))
    ledger.resolve_exception(
        record.exception_id, ExceptionResolution.RECORDED_AS_BREACH, by="COFA", reason="breach"
    )
    assert len(posted(send(ledger, client_money_received(3, "40.00", day=on(3))))) == 1
    assert held(ledger) == -10000 + 4000


def test_a_transfer_beyond_the_bill_goes_through_once_the_bill_grows() -> None:
    ledger = new_ledger()
    send(
        ledger,
        client_money_received(1, "1000.00", day=on(1)),
        bill_approved(bill_content(4, fees=[fee("500.00", "100.00")], day=on(2))),
    )
    record = exception_of(
        send(ledger, bill_payment(5, 4, "720.00", paid_from=AccountKind.CLIENT, day=on(3)))
    )
    assert record.kind is ExceptionKind.TRANSFER_EXCEEDS_BILL
    bigger = bill_content(4, fees=[fee("600.00", "120.00")], day=on(2))
    outcomes = send(ledger, bill_changed(bigger, version="v2"))
    # the bill's reversal and repost, then both halves of the transfer that waited on it
    assert len(posted(outcomes)) == 4
    assert [r.exception_id for r in resolutions(outcomes)] == [record.exception_id]
    assert held(ledger) == 100000 - 72000
    assert ledger.office_balance(MATTER).amount_minor == 0


def test_an_exception_resolution_needs_who_and_why_and_an_open_exception() -> None:
    ledger = new_ledger()
    record = exception_of(send(ledger, client_money_paid(2, "10.00")))
    with pytest.raises(LedgerError, match="who resolved it and why"):
        ledger.resolve_exception(
            record.exception_id, ExceptionResolution.RECORDED_AS_BREACH, by="COFA", reason=" "
        )
    ledger.resolve_exception(
        record.exception_id, ExceptionResolution.RECORDED_AS_BREACH, by="COFA", reason="breach"
    )
    with pytest.raises(LedgerError, match="already resolved"):
        ledger.resolve_exception(
            record.exception_id, ExceptionResolution.RECORDED_AS_BREACH, by="COFA", reason="again"
        )


def test_an_office_column_in_credit_is_reported_and_cleared_when_it_is_not() -> None:
    ledger = new_ledger()
    send(ledger, bill_approved(bill_content(4, fees=[fee("100.00", "20.00")])))
    outcomes = send(ledger, bill_payment(5, 4, "150.00", paid_from=AccountKind.OFFICE))
    assert len(posted(outcomes)) == 1  # the money is in the bank: it posts
    record = exception_of(outcomes)
    assert record.kind is ExceptionKind.OFFICE_CREDIT_BALANCE
    assert not record.blocking
    assert record.amount is not None and record.amount.amount_minor == 15000 - 12000
    outcomes = send(ledger, bill_approved(bill_content(6, fees=[fee("25.00", "5.00")])))
    assert [r.exception_id for r in resolutions(outcomes)] == [record.exception_id]

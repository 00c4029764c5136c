"""Nothing posts on or before a locked date (I-13); locks and unlocks are audited."""

import pytest
from ledger_domain_builders import (
    CLIENT_ACCOUNT,
    MATTER,
    OFFICE_ACCOUNT,
    bill_approved,
    bill_changed,
    bill_content,
    bill_voided,
    client_money_received,
    disbursement_paid,
    fee,
    new_ledger,
    on,
    posted,
    send,
)

from cashroom_ledger.domain.decisions import HoldReason
from cashroom_ledger.domain.ledger import LedgerError
from cashroom_ledger.domain.outcomes import Held, PeriodLockChanged


def test_a_posting_dated_on_or_before_the_lock_waits_for_an_unlock() -> None:
    ledger = new_ledger()
    ledger.lock_period(on(31, month=1), by="COFA", reason="January reconciled")
    (outcome,) = send(ledger, client_money_received(1, "100.00", day=on(31, month=1)))
    assert isinstance(outcome, Held)
    assert outcome.reason_code == HoldReason.PERIOD_LOCKED
    assert outcome.reason == (
        "Client money received — 00042-Byrne from Aoife Byrne is dated 2026-01-31, but the "
        "books are locked through 2026-01-31; it posts after an unlock"
    )
    assert len(posted(send(ledger, client_money_received(2, "100.00", day=on(1))))) == 1

    outcomes = ledger.unlock_period(
        locked_through=on(30, month=1), by="COFA", reason="late receipt"
    )
    assert isinstance(outcomes[0], PeriodLockChanged) and not outcomes[0].locked
    assert len(posted(outcomes)) == 1
    assert ledger.client_balance(MATTER).amount_minor == 20000


def test_a_bank_account_lock_holds_only_what_touches_that_account() -> None:
    ledger = new_ledger()
    ledger.lock_period(on(10), bank_account_id=CLIENT_ACCOUNT, by="cashier", reason="reconciled")
    (outcome,) = send(ledger, client_money_received(1, "100.00", day=on(5)))
    assert isinstance(outcome, Held) and outcome.reason_code == HoldReason.PERIOD_LOCKED
    assert "client account 'Client Account' (7001) is locked through 2026-02-10" in outcome.reason
    assert len(posted(send(ledger, disbursement_paid(3, "40.00", day=on(5))))) == 1
    assert ledger.lock_date(CLIENT_ACCOUNT) == on(10)
    assert ledger.lock_date(OFFICE_ACCOUNT) is None


def test_a_bill_in_a_locked_period_can_be_voided_later_but_not_changed_in_place() -> None:
    ledger = new_ledger()
    send(ledger, bill_approved(bill_content(4, fees=[fee("100.00", "20.00")], day=on(5))))
    ledger.lock_period(on(28), by="COFA", reason="VAT quarter filed")
    changed = bill_content(4, fees=[fee("200.00", "40.00")], day=on(5))
    (outcome,) = send(ledger, bill_changed(changed, version="v2"))
    assert isinstance(outcome, Held) and outcome.reason_code == HoldReason.PERIOD_LOCKED
    assert ledger.office_balance(MATTER).amount_minor == 12000

    (reversal,) = posted(send(ledger, bill_voided(4, day=on(2, month=3))))
    assert reversal.posted_on == on(2, month=3)
    assert ledger.office_balance(MATTER, as_of=on(28)).amount_minor == 12000
    assert ledger.office_balance(MATTER).amount_minor == 0
    assert ledger.pending() == []  # the void replaced the change that waited


def test_locks_move_forward_unlocks_move_back_and_both_say_who_and_why() -> None:
    ledger = new_ledger()
    ledger.lock_period(on(10), by="COFA", reason="reconciled")
    with pytest.raises(LedgerError, match="moving the lock back is an unlock"):
        ledger.lock_period(on(5), by="COFA", reason="oops")
    with pytest.raises(LedgerError, match="who did it and why"):
        ledger.unlock_period(locked_through=None, by="COFA", reason="")
    with pytest.raises(LedgerError, match="use lock_period"):
        ledger.unlock_period(locked_through=on(12), by="COFA", reason="later")
    ledger.unlock_period(locked_through=None, by="COFA", reason="error found in January")
    assert ledger.lock_date() is None
    assert [(c.locked_through, c.by, c.reason, c.locked) for c in ledger.lock_history] == [
        (on(10), "COFA", "reconciled", True),
        (None, "COFA", "error found in January", False),
    ]
    with pytest.raises(LedgerError, match="no bank account"):
        ledger.lock_period(on(10), bank_account_id=1, by="COFA", reason="x")

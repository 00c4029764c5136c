"""The same source event never posts twice (I-10) and history is never edited (I-2).

The same key and version again is a no-op; a new version is exactly one reversal per live journal
plus one repost; a void, a reversed payment or a record deleted in Clio reverses what was live.
"""

from ledger_domain_builders import (
    CLIENT_BANK,
    CLIENT_MONEY,
    CLIENT_SIDE,
    CR,
    DEBTORS,
    DR,
    FEES,
    MATTER,
    OFFICE_SIDE,
    VAT_OUTPUT,
    bill_approved,
    bill_changed,
    bill_content,
    bill_payment,
    client_money_received,
    fee,
    lines_of,
    new_ledger,
    on,
    only_journal,
    posted,
    send,
    source,
)

from cashroom_contracts.events.clio import RecordDeletedInClio
from cashroom_contracts.events.common import AccountKind
from cashroom_ledger.domain.decisions import PostingKey
from cashroom_ledger.domain.invariants import posted_more_than_once
from cashroom_ledger.domain.journals import JournalKind
from cashroom_ledger.domain.outcomes import AlreadyApplied, NotPosted

RECEIPT = PostingKey("bank_transaction", "1")
BILL = PostingKey("bill", "4")


def test_replaying_an_event_changes_nothing() -> None:
    ledger = new_ledger()
    event = client_money_received(1, "100.00")
    send(ledger, event)
    (outcome,) = send(ledger, event)
    assert isinstance(outcome, AlreadyApplied) and outcome.key == RECEIPT
    assert len(ledger.journals) == 1
    assert ledger.client_balance(MATTER).amount_minor == 10000


def test_a_new_version_is_one_reversal_and_one_repost() -> None:
    ledger = new_ledger()
    original = only_journal(send(ledger, client_money_received(1, "100.00", day=on(2))))
    reversal, repost = posted(
        send(ledger, client_money_received(1, "120.00", day=on(2), version="v2"))
    )
    assert reversal.reverses == original.journal_id
    assert reversal.reason == "client receipt 1 changed in Clio"
    assert reversal.posted_on == on(2)
    assert lines_of(reversal) == {
        (CLIENT_BANK, CR, 10000, None, None, 7001),
        (CLIENT_MONEY, DR, 10000, MATTER, CLIENT_SIDE, 7001),
    }
    assert repost.kind is JournalKind.CLIENT_RECEIPT
    assert repost.source.version == "v2"
    assert ledger.client_balance(MATTER).amount_minor == 12000
    assert ledger.live_journals(RECEIPT) == (repost,)
    assert ledger.journals_for(RECEIPT) == (original, reversal, repost)
    assert posted_more_than_once(ledger, [RECEIPT]) == []
    # the original is still there, unchanged: history is reversed, never edited
    assert ledger.journal(original.journal_id) == original


def test_an_older_version_replayed_after_a_newer_one_changes_nothing() -> None:
    ledger = new_ledger()
    send(ledger, client_money_received(1, "100.00"))
    send(ledger, client_money_received(1, "120.00", version="v2"))
    outcomes = send(ledger, client_money_received(1, "100.00"))
    assert isinstance(outcomes[0], AlreadyApplied)
    assert ledger.client_balance(MATTER).amount_minor == 12000


def test_a_bill_changed_in_clio_is_reversed_and_reposted() -> None:
    ledger = new_ledger()
    send(ledger, bill_approved(bill_content(4, fees=[fee("100.00", "20.00")], day=on(3))))
    changed = bill_content(4, fees=[fee("150.00", "30.00")], day=on(3))
    reversal, repost = posted(send(ledger, bill_changed(changed, version="v2")))
    assert reversal.reason == "bill INV-4 changed in Clio (version v1 replaced by v2)"
    assert lines_of(repost) == {
        (DEBTORS, DR, 18000, MATTER, OFFICE_SIDE, None),
        (FEES, CR, 15000, None, None, None),
        (VAT_OUTPUT, CR, 3000, None, None, None),
    }
    assert ledger.office_balance(MATTER).amount_minor == 18000
    assert ledger.live_version(BILL) == "v2"
    bill = ledger.posted_bill(4)
    assert bill is not None and bill.facts.total.amount_minor == 18000


def test_a_pair_is_reversed_as_a_pair() -> None:
    ledger = new_ledger()
    send(
        ledger,
        client_money_received(1, "500.00", day=on(1)),
        bill_approved(bill_content(4, fees=[fee("300.00", "60.00")], day=on(2))),
        bill_payment(5, 4, "360.00", paid_from=AccountKind.CLIENT, day=on(3)),
    )
    journals = posted(
        send(
            ledger,
            bill_payment(5, 4, "300.00", paid_from=AccountKind.CLIENT, day=on(3), version="v2"),
        )
    )
    assert [j.kind for j in journals] == [
        JournalKind.REVERSAL,
        JournalKind.REVERSAL,
        JournalKind.CLIENT_TO_OFFICE_CLIENT_HALF,
        JournalKind.CLIENT_TO_OFFICE_OFFICE_HALF,
    ]
    assert ledger.client_balance(MATTER).amount_minor == 50000 - 30000
    assert ledger.office_balance(MATTER).amount_minor == 36000 - 30000


def test_a_record_deleted_in_clio_is_reversed_on_its_own_date() -> None:
    ledger = new_ledger()
    original = only_journal(send(ledger, client_money_received(1, "100.00", day=on(2))))
    deleted = RecordDeletedInClio(source=source("BankTransaction", 1, "deleted"))
    reversal = only_journal(send(ledger, deleted))
    assert reversal.reverses == original.journal_id
    assert reversal.posted_on == on(2)
    assert ledger.client_balance(MATTER, as_of=on(2)).amount_minor == 0
    unknown = RecordDeletedInClio(source=source("BankTransaction", 99, "deleted"))
    assert isinstance(send(ledger, unknown)[0], NotPosted)


def test_journal_ids_are_the_same_on_every_replay_of_the_same_history() -> None:
    events = [
        client_money_received(1, "100.00"),
        client_money_received(1, "120.00", version="v2"),
        bill_approved(bill_content(4, fees=[fee("100.00", "20.00")])),
    ]
    first, second = new_ledger(), new_ledger()
    send(first, *events)
    send(second, *events)
    assert [j.journal_id for j in first.journals] == [j.journal_id for j in second.journals]
    assert len({j.journal_id for j in first.journals}) == len(first.journals)

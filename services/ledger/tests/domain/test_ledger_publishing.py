"""Outcomes become ledger.events.v1 payloads the connector and reporting understand."""

import uuid

from ledger_domain_builders import (
    CLIENT_ACCOUNT,
    CLIENT_MONEY,
    MATTER,
    client_money_paid,
    client_money_received,
    new_ledger,
    on,
    send,
)

from cashroom_contracts.envelope import encode_event, new_event, parse_event
from cashroom_contracts.events import ledger as contract
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.ledger import ExceptionResolution
from cashroom_contracts.money import Money
from cashroom_ledger.domain.accounts import AccountRole, england_and_wales_chart
from cashroom_ledger.domain.outcomes import ExceptionRaised, Posted
from cashroom_ledger.domain.publishing import account_upserted, ledger_events


def test_a_posting_publishes_its_journal_and_that_the_source_applied() -> None:
    ledger = new_ledger()
    event_posted, applied = ledger_events(send(ledger, client_money_received(1, "100.00")))
    assert isinstance(event_posted, contract.JournalPosted)
    assert isinstance(applied, contract.PostingApplied)
    assert applied.journal_ids == [event_posted.journal_id]
    assert applied.source.object_id == "1" and applied.source.version == "v1"
    client_line = next(line for line in event_posted.lines if line.account_code == CLIENT_MONEY)
    assert client_line.credit == Money.of("100.00", "GBP")
    assert client_line.debit == Money.zero("GBP")
    assert (client_line.matter_id, client_line.ledger_side, client_line.bank_account_id) == (
        MATTER,
        AccountKind.CLIENT,
        CLIENT_ACCOUNT,
    )
    # It survives the bus: the envelope validates it against the contract.
    envelope = new_event(event_posted, firm_id="firm-1", source="cashroom/ledger")
    assert parse_event(encode_event(envelope)).data == event_posted


def test_an_exception_shows_as_held_in_the_sync_log_and_its_resolution_is_published() -> None:
    ledger = new_ledger()
    outcomes = send(ledger, client_money_paid(2, "10.00", day=on(2)))
    held, raised = ledger_events(outcomes)
    assert isinstance(held, contract.PostingHeld)
    assert held.reason_code == "overdrawn_client_ledger"
    assert isinstance(raised, contract.ExceptionRaised)
    record = next(o.record for o in outcomes if isinstance(o, ExceptionRaised))
    resolved_outcomes = ledger.resolve_exception(
        record.exception_id, ExceptionResolution.RECORDED_AS_BREACH, by="COFA", reason="error"
    )
    published = ledger_events(resolved_outcomes)
    assert [type(e) for e in published] == [
        contract.ExceptionResolved,
        contract.JournalPosted,
        contract.PostingApplied,
    ]


def test_locks_publish_who_and_why() -> None:
    ledger = new_ledger()
    (locked,) = ledger_events(ledger.lock_period(on(1), by="COFA", reason="January"))
    assert locked == contract.PeriodLocked(locked_through=on(1), by="COFA", reason="January")


def test_a_nominal_publishes_with_its_role_where_the_contract_knows_it() -> None:
    chart = england_and_wales_chart()
    debtors = account_upserted(chart, chart.account(chart.code_for(AccountRole.DEBTORS_CONTROL)))
    assert debtors.role is contract.AccountRole.DEBTORS_CONTROL
    assert debtors.currency == "GBP"
    sundry = account_upserted(chart, chart.account(chart.code_for(AccountRole.SUNDRY_OVERHEADS)))
    assert sundry.role is contract.AccountRole.SUNDRY_OVERHEADS


def test_every_journal_carries_the_clio_record_its_version_and_the_event_that_caused_it() -> None:
    ledger = new_ledger()
    event_id = uuid.UUID("00000000-0000-4000-8000-000000000042")
    (outcome,) = ledger.handle(client_money_received(1, "100.00"), event_id=event_id)
    assert isinstance(outcome, Posted)
    (journal,) = outcome.journals
    assert journal.source == contract.PostingSource(
        system="clio", object_type="BankTransaction", object_id="1", version="v1", event_id=event_id
    )

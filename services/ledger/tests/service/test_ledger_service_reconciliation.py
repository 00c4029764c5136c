"""A signed reconciliation (``reconciliation.events.v1``) locks its bank account through the date
it was signed as of: a posting to that account dated then or before waits; one after posts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ledger_domain_builders import (
    CLIENT_ACCOUNT,
    MATTER,
    bank_account_upserted,
    client_money_received,
    client_upserted,
    matter_upserted,
    money,
    on,
)
from ledger_service_fixtures import (
    Service,
    envelopes,
    firm_id,
    send,
    send_reconciliation,
    set_up,
    until_answered,
)

from cashroom_chassis.auth import Role
from cashroom_chassis.testing import eventually
from cashroom_contracts.envelope import new_event
from cashroom_contracts.events import ledger as contract
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.reconciliation import ReconciliationSigned


async def test_a_signed_reconciliation_locks_its_bank_account_through_its_date(
    service: Service,
) -> None:
    firm = firm_id()
    await set_up(service, firm, "ew")
    reference = envelopes(
        firm,
        client_upserted(),
        matter_upserted(MATTER),
        bank_account_upserted(CLIENT_ACCOUNT, AccountKind.CLIENT),
    )
    await send(service, firm, reference)
    await until_answered(service, firm, reference)

    signed = ReconciliationSigned(
        reconciliation_id=uuid.uuid4(),
        bank_account_id=CLIENT_ACCOUNT,
        account_kind=AccountKind.CLIENT,
        as_of=on(10),
        statement_balance=money("0"),
        unpresented_payments=money("0"),
        outstanding_lodgements=money("0"),
        adjusted_bank_balance=money("0"),
        cashbook_balance=money("0"),
        client_ledgers_total=money("0"),
        signed_by="COFA",
        signed_at=datetime(2026, 2, 11, 9, 0, tzinfo=UTC),
    )
    await send_reconciliation(
        service, firm, [new_event(signed, firm_id=firm, source="test/reconciliation")]
    )

    async with service.client(firm, Role.VIEWER) as client:

        async def locked() -> object:
            return (await client.get(f"/firms/{firm}/period-locks")).json()["bank_accounts"]

        await eventually(locked)
        locks = (await client.get(f"/firms/{firm}/period-locks")).json()
    assert locks["bank_accounts"] == [
        {"bank_account_id": CLIENT_ACCOUNT, "locked_through": on(10).isoformat()}
    ]
    assert locks["books_locked_through"] is None
    [change] = locks["history"]
    assert (change["by"], change["locked"]) == ("COFA", True)
    assert str(signed.reconciliation_id) in change["reason"]

    receipts = envelopes(
        firm,
        client_money_received(61, "40.00", day=on(10)),
        client_money_received(62, "45.00", day=on(11)),
    )
    await send(service, firm, receipts)
    answers = await until_answered(service, firm, receipts)
    [held] = answers[receipts[0].id]
    assert isinstance(held, contract.PostingHeld) and held.reason_code == "period_locked"
    assert isinstance(answers[receipts[1].id][0], contract.PostingApplied)

"""A payment that would overdraw a client ledger is not applied: it becomes an exception the
cashier sees in the API and resolves — refused as fixed while it still overdraws, recorded as a
breach it posts and enters the breach register (SRA 5.3)."""

from __future__ import annotations

from ledger_domain_builders import (
    CLIENT_ACCOUNT,
    MATTER,
    bank_account_upserted,
    client_money_paid,
    client_money_received,
    client_upserted,
    matter_upserted,
    on,
)
from ledger_service_fixtures import (
    Service,
    answers_to,
    envelopes,
    firm_id,
    send,
    set_up,
    staged,
    until_answered,
)

from cashroom_chassis.auth import Role
from cashroom_contracts.events import ledger as contract
from cashroom_contracts.events.common import AccountKind


async def test_an_overdrawing_payment_is_an_exception_until_recorded_as_a_breach(
    service: Service,
) -> None:
    firm = firm_id()
    await set_up(service, firm, "ew")
    sent = envelopes(
        firm,
        client_upserted(),
        matter_upserted(MATTER),
        bank_account_upserted(CLIENT_ACCOUNT, AccountKind.CLIENT),
        client_money_received(41, "100.00", day=on(1)),
        client_money_paid(42, "150.00", day=on(2)),  # £50 more than the client holds
    )
    payment = sent[-1]
    await send(service, firm, sent)
    [held] = (await until_answered(service, firm, sent))[payment.id]
    assert isinstance(held, contract.PostingHeld)
    assert held.reason_code == "overdrawn_client_ledger"
    raised = [
        e.data for e in await staged(service, firm) if isinstance(e.data, contract.ExceptionRaised)
    ]
    assert [
        (r.kind.value, r.matter_id, r.amount.amount_minor if r.amount else None) for r in raised
    ] == [("overdrawn_client_ledger", MATTER, 15000 - 10000)]

    async with service.client(firm, Role.CASHIER, subject="mary") as cashier:
        listed = await cashier.get(f"/firms/{firm}/exceptions", params={"open": True})
        [open_exception] = listed.json()
        assert listed.headers["X-Total-Count"] == "1"
        beyond = await cashier.get(f"/firms/{firm}/exceptions", params={"offset": 1})
        assert (beyond.json(), beyond.headers["X-Total-Count"]) == ([], "1")  # a page past it
        assert open_exception["blocking"] and open_exception["open"]
        assert open_exception["posting_key"] == "bank_transaction:42"
        assert open_exception["amount"] == {"amount_minor": 5000, "currency": "GBP"}
        url = f"/firms/{firm}/exceptions/{open_exception['exception_id']}/resolve"

        refused = await cashier.post(
            url, json={"resolution": "fixed_at_source", "reason": "I think it is fine"}
        )
        assert refused.status_code == 422
        assert "still breaks the rule" in refused.json()["detail"]
        assert (
            await cashier.get(f"/firms/{firm}/journals", params={"source_id": "42"})
        ).json() == []

        recorded = await cashier.post(
            url, json={"resolution": "recorded_as_breach", "reason": "paid in error; reported"}
        )
        assert recorded.status_code == 200, recorded.text
        resolution = recorded.json()
        assert (resolution["open"], resolution["resolution"], resolution["resolved_by"]) == (
            False,
            "recorded_as_breach",
            "mary",
        )
        [breach] = (await cashier.get(f"/firms/{firm}/breaches")).json()
        [posted] = (await cashier.get(f"/firms/{firm}/journals", params={"source_id": "42"})).json()
        assert breach["exception_id"] == open_exception["exception_id"]
        assert breach["journal_ids"] == [posted["journal_id"]]
        assert (breach["recorded_by"], breach["reason"]) == ("mary", "paid in error; reported")
        balances = (await cashier.get(f"/firms/{firm}/matters/{MATTER}/balances")).json()
        assert balances["client"]["amount_minor"] == 10000 - 15000  # the breach, shown as it is
        assert (await cashier.get(f"/firms/{firm}/exceptions", params={"open": True})).json() == []

        again = await cashier.post(url, json={"resolution": "recorded_as_breach", "reason": "x"})
        assert again.status_code == 422  # already resolved

    answers = (await answers_to(service, firm, [payment.id]))[payment.id]
    assert [type(a) for a in answers] == [contract.PostingHeld, contract.PostingApplied]

"""Postings that cannot post yet wait, visibly, and post when what they wait for arrives — in the
same transaction as its arrival, with a second answer (``PostingApplied``) for the event that
waited: a bill before its matter, a receipt dated in a locked period, the events of a firm whose
books are not set up yet."""

from __future__ import annotations

from ledger_domain_builders import (
    CLIENT_ACCOUNT,
    MATTER,
    OFFICE_ACCOUNT,
    bank_account_upserted,
    bill_approved,
    bill_content,
    client_money_received,
    client_upserted,
    fee,
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
    until_answered,
)

from cashroom_chassis.auth import Role
from cashroom_chassis.testing import eventually
from cashroom_contracts.events import ledger as contract
from cashroom_contracts.events.common import AccountKind


async def test_a_bill_before_its_matter_waits_and_posts_when_the_matter_arrives(
    service: Service,
) -> None:
    firm = firm_id()
    await set_up(service, firm, "ew")
    first = envelopes(
        firm,
        client_upserted(),
        bank_account_upserted(OFFICE_ACCOUNT, AccountKind.OFFICE),
        bill_approved(bill_content(10, fees=[fee("400.00", "80.00")], day=on(3))),
    )
    bill_event = first[-1]
    await send(service, firm, first)
    [held] = (await until_answered(service, firm, first))[bill_event.id]
    assert isinstance(held, contract.PostingHeld)
    assert held.reason_code == "matter_unknown"

    async with service.client(firm, Role.VIEWER) as client:
        waiting = (await client.get(f"/firms/{firm}/held-postings")).json()["held"]
        assert [(h["posting_key"], h["reason_code"], h["waiting_for"]) for h in waiting] == [
            ("bill:10", "matter_unknown", [f"matter:{MATTER}"])
        ]
        assert (await client.get(f"/firms/{firm}/journals")).json() == []

    matter = envelopes(firm, matter_upserted(MATTER))
    await send(service, firm, matter)
    await until_answered(service, firm, matter)
    answers = (await answers_to(service, firm, [bill_event.id]))[bill_event.id]
    assert [type(a) for a in answers] == [contract.PostingHeld, contract.PostingApplied]

    async with service.client(firm, Role.VIEWER) as client:
        assert (await client.get(f"/firms/{firm}/held-postings")).json()["held"] == []
        balances = (await client.get(f"/firms/{firm}/matters/{MATTER}/balances")).json()
        assert balances["office"]["amount_minor"] == 40000 + 8000  # fees + VAT, owed


async def test_the_postings_that_wait_are_listed_a_page_at_a_time_with_how_many_wait_in_all(
    service: Service,
) -> None:
    firm = firm_id()
    await set_up(service, firm, "ew")
    bills = envelopes(
        firm,
        client_upserted(),
        bank_account_upserted(OFFICE_ACCOUNT, AccountKind.OFFICE),
        *[
            bill_approved(bill_content(n, fees=[fee("100.00", "20.00")], day=on(3)))
            for n in (10, 11, 12)
        ],
    )
    await send(service, firm, bills)
    await until_answered(service, firm, bills)

    async with service.client(firm, Role.VIEWER) as client:
        url = f"/firms/{firm}/held-postings"
        first = (await client.get(url, params={"limit": 2})).json()
        rest = (await client.get(url, params={"limit": 2, "offset": 2})).json()
        assert (first["total"], rest["total"]) == (3, 3)
        assert [h["posting_key"] for h in first["held"] + rest["held"]] == [
            "bill:10",
            "bill:11",
            "bill:12",
        ]
        too_big = await client.get(url, params={"limit": 5001})
        assert too_big.status_code == 422


async def test_a_receipt_dated_in_a_locked_period_waits_for_the_unlock(service: Service) -> None:
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
    async with service.client(firm, Role.CASHIER, subject="mary") as cashier:
        locked = await cashier.post(
            f"/firms/{firm}/period-locks",
            json={"locked_through": on(10).isoformat(), "reason": "January reconciled"},
        )
        assert locked.status_code == 200, locked.text
        assert locked.json()["books_locked_through"] == on(10).isoformat()

    receipts = envelopes(
        firm,
        client_money_received(21, "250.00", day=on(5)),  # in the locked period
        client_money_received(22, "100.00", day=on(11)),  # after it
    )
    await send(service, firm, receipts)
    answers = await until_answered(service, firm, receipts)
    [held] = answers[receipts[0].id]
    assert isinstance(held, contract.PostingHeld) and held.reason_code == "period_locked"
    assert isinstance(answers[receipts[1].id][0], contract.PostingApplied)

    async with service.client(firm, Role.CASHIER) as cashier:
        refused = await cashier.post(
            f"/firms/{firm}/period-locks/unlock", json={"reason": "a late receipt"}
        )
        assert refused.status_code == 403  # unlocking is the admin's
    async with service.client(firm, Role.ADMIN, subject="colp") as admin:
        unlocked = await admin.post(
            f"/firms/{firm}/period-locks/unlock", json={"reason": "a late receipt"}
        )
        assert unlocked.status_code == 200, unlocked.text
        locks = unlocked.json()
        assert locks["books_locked_through"] is None
        assert [(c["locked"], c["by"], c["reason"]) for c in locks["history"]] == [
            (True, "mary", "January reconciled"),
            (False, "colp", "a late receipt"),
        ]
        held_answers = (await answers_to(service, firm, [receipts[0].id]))[receipts[0].id]
        assert [type(a) for a in held_answers] == [contract.PostingHeld, contract.PostingApplied]
        held = (
            await admin.get(
                f"/firms/{firm}/matters/{MATTER}/balances", params={"as_of": on(5).isoformat()}
            )
        ).json()
        assert held["client"]["amount_minor"] == 25000  # the receipt now stands on its own date
        audit = (await admin.get(f"/firms/{firm}/audit-log")).json()
        assert [a["action"] for a in audit][-2:] == ["period_locked", "period_unlocked"]


async def test_events_for_a_firm_not_set_up_wait_and_post_at_set_up(service: Service) -> None:
    firm = firm_id()
    sent = envelopes(
        firm,
        client_upserted(),
        matter_upserted(MATTER),
        bank_account_upserted(CLIENT_ACCOUNT, AccountKind.CLIENT),
        client_money_received(31, "75.00", day=on(2)),
    )
    await send(service, firm, sent)
    answers = await until_answered(service, firm, sent)
    assert {
        a[0].reason_code for a in answers.values() if isinstance(a[0], contract.PostingHeld)
    } == {"firm_not_set_up"}
    async with service.client(firm, Role.VIEWER) as client:
        waiting = (await client.get(f"/firms/{firm}/held-postings")).json()
        assert waiting["events_before_setup"] == len(sent)
        assert (await client.get(f"/firms/{firm}/balances")).status_code == 404

    await set_up(service, firm, "ew")

    async def all_applied() -> bool:
        found = await answers_to(service, firm, [e.id for e in sent])
        return all(isinstance(a[-1], contract.PostingApplied) for a in found.values())

    await eventually(all_applied)
    async with service.client(firm, Role.VIEWER) as client:
        waiting = (await client.get(f"/firms/{firm}/held-postings")).json()
        assert waiting == {"held": [], "total": 0, "events_before_setup": 0}
        held = (await client.get(f"/firms/{firm}/matters/{MATTER}/balances")).json()
        assert held["client"]["amount_minor"] == 7500

"""Bad input never posts wrong and never stops anything: an event the rules reject is answered
with the reason and the consumer goes on; bytes that are not an event go to the dead-letter
topic; the API answers a bad request with a 4xx that says why, and another firm's token never
sees a firm."""

from __future__ import annotations

from ledger_domain_builders import (
    CLIENT_ACCOUNT,
    MATTER,
    OFFICE_ACCOUNT,
    bank_account_upserted,
    client_money_received,
    client_upserted,
    matter_upserted,
    on,
)
from ledger_service_fixtures import Service, envelopes, firm_id, send, set_up, until_answered

from cashroom_chassis.auth import Role
from cashroom_chassis.dead_letters import list_dead_letters
from cashroom_contracts.events import ledger as contract
from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.topics import CLIO_EVENTS


async def test_a_rejected_event_is_answered_with_its_reason_and_the_consumer_goes_on(
    service: Service,
) -> None:
    firm = firm_id()
    await set_up(service, firm, "ew")
    reference = envelopes(
        firm,
        client_upserted(),
        matter_upserted(MATTER),
        bank_account_upserted(CLIENT_ACCOUNT, AccountKind.CLIENT),
        bank_account_upserted(OFFICE_ACCOUNT, AccountKind.OFFICE),
    )
    nothing = envelopes(firm, client_money_received(51, "0.00", day=on(1)))
    in_euro = envelopes(firm, client_money_received(52, "10.00", day=on(1), currency="EUR"))
    into_office = envelopes(
        firm, client_money_received(53, "10.00", day=on(1), bank_account_id=OFFICE_ACCOUNT)
    )
    not_an_event = f"not an event for {firm}".encode()
    good = envelopes(firm, client_money_received(54, "60.00", day=on(1)))
    await send(service, firm, [*reference, *nothing, *in_euro, not_an_event, *into_office, *good])

    answers = await until_answered(service, firm, [*nothing, *in_euro, *into_office, *good])
    reasons = [
        (a[0].reason_code, a[0].reason)
        for a in (answers[nothing[0].id], answers[in_euro[0].id], answers[into_office[0].id])
        if isinstance(a[0], contract.PostingRejected)
    ]
    assert [code for code, _ in reasons] == [
        "amount_not_positive",
        "currency_mismatch",
        "wrong_account_kind",
    ]
    assert "must be more than zero" in reasons[0][1]
    assert "the firm's books are kept in GBP" in reasons[1][1]
    assert isinstance(answers[good[0].id][0], contract.PostingApplied)

    letters = await list_dead_letters(service.settings.kafka_bootstrap_servers, CLIO_EVENTS)
    [letter] = [letter for letter in letters if letter.value == not_an_event]
    assert letter.error.startswith("invalid envelope")
    async with service.client(firm, Role.VIEWER) as client:
        held = (await client.get(f"/firms/{firm}/matters/{MATTER}/balances")).json()
        assert held["client"]["amount_minor"] == 6000  # only the good receipt posted


async def test_another_firms_token_never_sees_the_firm(service: Service) -> None:
    firm, other = firm_id(), firm_id()
    await set_up(service, firm, "ie")
    async with service.client(other, Role.ADMIN) as stranger:
        for path in (
            "accounts",
            "balances",
            "journals",
            "exceptions",
            "held-postings",
            "audit-log",
        ):
            response = await stranger.get(f"/firms/{firm}/{path}")
            assert response.status_code == 404, path
            assert response.json() == {"detail": "no such firm"}
        response = await stranger.put(
            f"/firms/{firm}/setup", json={"jurisdiction": "ew", "firm_name": "Not theirs"}
        )
        assert response.status_code == 404


async def test_bad_requests_are_refused_with_the_reason(service: Service) -> None:
    firm = firm_id()
    async with service.client(firm, Role.ADMIN) as admin:
        not_set_up = await admin.get(f"/firms/{firm}/balances")
        assert not_set_up.status_code == 404
        assert "not set up" in not_set_up.json()["detail"]

        unknown = await admin.put(
            f"/firms/{firm}/setup", json={"jurisdiction": "fr", "firm_name": "Cabinet"}
        )
        assert unknown.status_code == 422
        created = await admin.put(
            f"/firms/{firm}/setup", json={"jurisdiction": "ie", "firm_name": "Ó Briain & Co"}
        )
        assert (created.status_code, created.json()["currency"]) == (201, "EUR")
        same = await admin.put(
            f"/firms/{firm}/setup", json={"jurisdiction": "ie", "firm_name": "Ó Briain & Co"}
        )
        assert (same.status_code, same.json()["created"]) == (200, False)
        other = await admin.put(
            f"/firms/{firm}/setup", json={"jurisdiction": "ew", "firm_name": "Ó Briain & Co"}
        )
        assert other.status_code == 409
        assert "already set up for ireland" in other.json()["detail"]

        bad_date = await admin.get(f"/firms/{firm}/balances", params={"as_of": "31/01/2026"})
        assert bad_date.status_code == 422
        backwards = await admin.get(
            f"/firms/{firm}/matters/1/ledger-card",
            params={"from": "2026-02-10", "to": "2026-02-01"},
        )
        assert backwards.status_code == 422
        assert backwards.json()["detail"] == "to (2026-02-01) is before from (2026-02-10)"
        no_bank = await admin.get(
            f"/firms/{firm}/balances/client-ledgers",
            params={"as_of": "2026-02-01", "bank_account_id": 999},
        )
        assert (no_bank.status_code, no_bank.json()["detail"]) == (
            404,
            "the firm has no bank account 999",
        )
        no_matter = await admin.get(f"/firms/{firm}/matters/999/ledger-card")
        assert no_matter.status_code == 404
        no_exception = await admin.post(
            f"/firms/{firm}/exceptions/00000000-0000-0000-0000-000000000000/resolve",
            json={"resolution": "fixed_at_source", "reason": "x"},
        )
        assert no_exception.status_code == 404
        no_reason = await admin.post(
            f"/firms/{firm}/period-locks", json={"locked_through": "2026-01-31", "reason": ""}
        )
        assert no_reason.status_code == 422

    async with service.client(firm, Role.VIEWER) as viewer:
        forbidden = await viewer.post(
            f"/firms/{firm}/period-locks", json={"locked_through": "2026-01-31", "reason": "x"}
        )
        assert forbidden.status_code == 403

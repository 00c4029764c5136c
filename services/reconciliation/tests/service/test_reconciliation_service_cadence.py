"""A client account not reconciled within its jurisdiction's cadence raises one breach per
overdue period; the jurisdiction is the firm's setting, else presumed from its currency."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from reconciliation_service_fixtures import (
    CLIENT,
    CLIENT_IBAN,
    Entry,
    camt053,
    client_for,
    client_receipt,
    published,
    set_up_firm,
    upload,
)

from cashroom_chassis.auth import Role
from conftest import RunningService

FIRST_MOVEMENT = date(2025, 1, 6)


async def _check(http: Any, firm: str, on: date) -> dict[str, Any]:
    response = await http.post(f"/firms/{firm}/cadence-checks", json={"on": on.isoformat()})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_ireland_monthly_a_late_client_account_is_raised_once(
    service: RunningService, firm: str
) -> None:
    receipt = client_receipt(firm, FIRST_MOVEMENT, 100_000, 42, "Client money received — M0042")
    await set_up_firm(service.app, service.settings, firm, receipt)
    async with client_for(service.app, firm) as http:
        settings = (await http.get(f"/firms/{firm}/settings")).json()
        assert settings == {"jurisdiction": "ie", "source": "currency"}  # EUR: Ireland
        # Monthly, from the first movement: due by 6 February.
        on_time = await _check(http, firm, date(2025, 2, 6))
        assert on_time["breaches_raised"] == []
        assert on_time["client_accounts_checked"] == 1
        late = await _check(http, firm, date(2025, 2, 7))
        [raised] = late["breaches_raised"]
        assert (raised["bank_account_id"], raised["due_by"], raised["days_overdue"]) == (
            CLIENT,
            "2025-02-06",
            1,
        )
        still_late = await _check(http, firm, date(2025, 2, 20))
        assert still_late["breaches_raised"] == []
        listed = (await http.get(f"/firms/{firm}/breaches")).json()
    assert [(b["kind"], b["due_by"]) for b in listed] == [("late_reconciliation", "2025-02-06")]
    [event] = await published(
        service.settings.kafka_bootstrap_servers, firm, "reconciliation.breach.raised"
    )
    assert event.data.kind.value == "late_reconciliation"
    assert event.data.detected_on == date(2025, 2, 7)
    assert event.data.last_reconciled_on is None


async def test_england_and_wales_five_weeks_measured_from_the_last_signed_reconciliation(
    service: RunningService, firm: str
) -> None:
    receipt = client_receipt(firm, FIRST_MOVEMENT, 100_000, 42, "Client money received — M0042")
    await set_up_firm(service.app, service.settings, firm, receipt)
    service.ledger.totals[firm] = lambda account, as_of: 100_000
    statement = camt053(
        CLIENT_IBAN,
        date(2024, 12, 31),
        0,
        [Entry(date(2025, 1, 7), 100_000, "AIB0107A", "Deposit M0042")],
        date(2025, 2, 28),
    )
    async with client_for(service.app, firm, Role.ADMIN) as http:
        put = await http.put(f"/firms/{firm}/settings", json={"jurisdiction": "ew"})
        assert put.status_code == 200
        assert (await http.get(f"/firms/{firm}/settings")).json() == {
            "jurisdiction": "ew",
            "source": "setting",
        }
        assert (await _check(http, firm, FIRST_MOVEMENT + timedelta(weeks=5)))[
            "breaches_raised"
        ] == []
        [first] = (await _check(http, firm, date(2025, 2, 11)))["breaches_raised"]
        assert first["due_by"] == "2025-02-10"  # 6 January + 35 days

        await http.post(f"/firms/{firm}/bank-accounts/{CLIENT}/statements", **upload(statement))
        await http.post(f"/firms/{firm}/bank-accounts/{CLIENT}/auto-match")
        signed = await http.post(
            f"/firms/{firm}/bank-accounts/{CLIENT}/reconciliations", json={"as_of": "2025-02-28"}
        )
        assert signed.status_code == 201, signed.text
        # 28 February + 35 days = 4 April.
        assert (await _check(http, firm, date(2025, 4, 4)))["breaches_raised"] == []
        [second] = (await _check(http, firm, date(2025, 4, 5)))["breaches_raised"]
        listed = (await http.get(f"/firms/{firm}/breaches")).json()
    assert second["due_by"] == "2025-04-04"
    assert [(b["due_by"], b["last_reconciled_on"]) for b in listed] == [
        ("2025-02-10", None),
        ("2025-04-04", "2025-02-28"),
    ]


async def test_only_an_admin_sets_the_jurisdiction_and_only_to_a_known_one(
    service: RunningService, firm: str
) -> None:
    async with client_for(service.app, firm, Role.CASHIER) as http:
        refused = await http.put(f"/firms/{firm}/settings", json={"jurisdiction": "ew"})
        assert refused.status_code == 403
    async with client_for(service.app, firm, Role.ADMIN) as http:
        unknown = await http.put(f"/firms/{firm}/settings", json={"jurisdiction": "fr"})
        assert unknown.status_code == 422
        # No setting and no bank account to presume one from: unknown, and nothing is checked.
        assert (await http.get(f"/firms/{firm}/settings")).json() == {
            "jurisdiction": None,
            "source": "unknown",
        }
        nothing = await _check(http, firm, date(2025, 6, 1))
    assert (nothing["jurisdiction"], nothing["breaches_raised"]) == (None, [])

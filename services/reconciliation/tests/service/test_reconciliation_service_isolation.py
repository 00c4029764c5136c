"""A token for one firm never reads or changes another firm's bank accounts: every route
answers 404, as if the firm did not exist, and changes nothing."""

from __future__ import annotations

from datetime import date

import httpx
from reconciliation_service_fixtures import (
    CLIENT,
    CLIENT_IBAN,
    Entry,
    camt053,
    client_for,
    client_receipt,
    set_up_firm,
    token,
    upload,
)

from cashroom_chassis.auth import Role
from conftest import RunningService


async def test_another_firms_token_gets_404_everywhere_and_changes_nothing(
    service: RunningService, firm: str
) -> None:
    receipt = client_receipt(firm, date(2025, 3, 3), 100_000, 42, "Client money received — M0042")
    await set_up_firm(service.app, service.settings, firm, receipt)
    statement = camt053(
        CLIENT_IBAN,
        date(2025, 2, 28),
        0,
        [Entry(date(2025, 3, 3), 100_000, "AIB0303A1", "Deposit M0042")],
        date(2025, 3, 31),
    )
    async with client_for(service.app, firm) as own:
        assert (
            await own.post(f"/firms/{firm}/bank-accounts/{CLIENT}/statements", **upload(statement))
        ).status_code == 201

    account = f"/firms/{firm}/bank-accounts/{CLIENT}"
    intruder = f"other-{firm}"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.app),
        base_url="http://reconciliation",
        headers={"Authorization": f"Bearer {token(intruder, Role.ADMIN)}"},
    ) as http:
        attempts = [
            http.get(f"/firms/{firm}/bank-accounts"),
            http.get(f"/firms/{firm}/settings"),
            http.put(f"/firms/{firm}/settings", json={"jurisdiction": "ew"}),
            http.get(f"/firms/{firm}/breaches"),
            http.post(f"/firms/{firm}/cadence-checks", json={"on": "2026-01-01"}),
            http.post(f"{account}/statements", **upload(statement)),
            http.get(f"{account}/statements"),
            http.get(f"{account}/statement-lines"),
            http.get(f"{account}/cashbook"),
            http.post(f"{account}/auto-match"),
            http.get(f"{account}/matches"),
            http.post(f"{account}/matches", json={"line_ids": ["x"], "entry_ids": ["y"]}),
            http.delete(f"{account}/matches/00000000-0000-0000-0000-000000000000"),
            http.get(f"{account}/reconciliation", params={"as_of": "2025-03-31"}),
            http.post(f"{account}/reconciliations", json={"as_of": "2025-03-31"}),
            http.get(f"{account}/reconciliations"),
        ]
        for attempt in attempts:
            response = await attempt
            assert response.status_code == 404, (response.request.url, response.text)
            assert "100000" not in response.text and "AIB0303A1" not in response.text
        # The intruder's own firm has no bank accounts, and cannot reach firm A's by id.
        own_path = f"/firms/{intruder}/bank-accounts"
        assert (await http.get(own_path)).json() == []
        assert (await http.get(f"{own_path}/{CLIENT}/statements")).status_code == 404

    async with client_for(service.app, firm, Role.VIEWER) as own:
        statements = (await own.get(f"{account}/statements")).json()
        matches = (await own.get(f"{account}/matches")).json()
        settings = (await own.get(f"/firms/{firm}/settings")).json()
        breaches = (await own.get(f"/firms/{firm}/breaches")).json()
    assert len(statements) == 1
    assert matches == []  # the intruder's auto-match did nothing
    assert settings["source"] == "currency"  # the intruder's PUT did nothing
    assert breaches == []

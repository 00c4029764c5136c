"""Auto-matching, the reconciliation statement with its figures worked out by hand, signing
(only with no difference; published for the ledger to lock the period), and matching by hand.

The client account's March 2025, as the cashbook has it (the ledger's journals):

    03-03  receipt  1,000.00  M0042 (LODG-1001)
    03-05  receipt    250.00  M0051
    03-05  receipt    150.00  M0052
    03-10  payment   −300.00  M0042, cheque 100234
    03-28  payment   −120.00  M0051         (not presented by 31 March)
    03-30  receipt     80.00  M0052         (not lodged by 31 March)

and as the bank has it (camt.053, opening 0.00):

    03-03  +1,000.00  Deposit M0042
    03-06    +400.00  Lodgement 2 items     (the receipts of 5 March, banked together)
    03-12    −300.00  Cheque 100234
    03-31     −15.00  Quarterly account fee CHG-2025Q1
    03-31     +15.00  Reimb. bank charge CHG-2025Q1 from office a/c
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from reconciliation_service_fixtures import (
    CLIENT,
    CLIENT_IBAN,
    OFFICE,
    OFFICE_IBAN,
    Entry,
    camt053,
    client_for,
    client_payment,
    client_receipt,
    office_receipt,
    produce,
    published,
    set_up_firm,
    upload,
    wait_for_journals,
)

from cashroom_chassis.auth import Role
from conftest import RunningService

MARCH_END = date(2025, 3, 31)


def march_cashbook(firm: str) -> list[Any]:
    return [
        client_receipt(
            firm, date(2025, 3, 3), 100_000, 42, "Client money received — M0042 (LODG-1001)"
        ),
        client_receipt(firm, date(2025, 3, 5), 25_000, 51, "Client money received — M0051"),
        client_receipt(firm, date(2025, 3, 5), 15_000, 52, "Client money received — M0052"),
        client_payment(firm, date(2025, 3, 10), 30_000, 42, "Client money paid — M0042 (100234)"),
        client_payment(firm, date(2025, 3, 28), 12_000, 51, "Client money paid — M0051 (100235)"),
        client_receipt(firm, date(2025, 3, 30), 8_000, 52, "Client money received — M0052"),
    ]


MARCH_BANK = [
    Entry(date(2025, 3, 3), 100_000, "AIB0303A1", "Deposit M0042"),
    Entry(date(2025, 3, 6), 40_000, "AIB0306A1", "Lodgement 2 items"),
    Entry(date(2025, 3, 12), -30_000, "AIB0312A1", "Cheque 100234 Land Registry", "100234"),
    Entry(date(2025, 3, 31), -1_500, "AIB0331C1", "Quarterly account fee", "CHG-2025Q1"),
    Entry(date(2025, 3, 31), 1_500, "AIB0331C2", "Reimb. bank charge CHG-2025Q1 from office a/c"),
]

# The client ledgers by hand: M0042 1,000 − 300; M0051 250 − 120; M0052 150 + 80.
CLIENT_LEDGERS_31_MARCH = (100_000 - 30_000) + (25_000 - 12_000) + (15_000 + 8_000)


def eur(cents: int) -> dict[str, Any]:
    return {"amount_minor": cents, "currency": "EUR"}


async def _reconciled_march(service: RunningService, firm: str, http: httpx.AsyncClient) -> None:
    await set_up_firm(service.app, service.settings, firm, *march_cashbook(firm))
    statement = camt053(CLIENT_IBAN, date(2025, 2, 28), 0, MARCH_BANK, MARCH_END)
    response = await http.post(
        f"/firms/{firm}/bank-accounts/{CLIENT}/statements", **upload(statement)
    )
    assert response.status_code == 201, response.text


async def test_auto_match_then_the_statement_as_worked_out_by_hand(
    service: RunningService, firm: str
) -> None:
    service.ledger.totals[firm] = lambda account, as_of: CLIENT_LEDGERS_31_MARCH
    async with client_for(service.app, firm) as http:
        await _reconciled_march(service, firm, http)
        matched = (await http.post(f"/firms/{firm}/bank-accounts/{CLIENT}/auto-match")).json()
        assert matched["by_rule"] == {
            "amount_and_reference": 2,  # the deposit (M0042) and the cheque (100234)
            "amount_and_date": 0,
            "one_line_to_many_entries": 1,  # 400.00 = 250.00 + 150.00
            "many_lines_to_one_entry": 0,
        }
        assert (matched["lines_unmatched"], matched["entries_unmatched"]) == (2, 2)
        again = (await http.post(f"/firms/{firm}/bank-accounts/{CLIENT}/auto-match")).json()
        assert again["matched"] == 0

        response = await http.get(
            f"/firms/{firm}/bank-accounts/{CLIENT}/reconciliation", params={"as_of": "2025-03-31"}
        )
        assert response.status_code == 200, response.text
        view = response.json()
    statement_balance = 100_000 + 40_000 - 30_000 - 1_500 + 1_500  # 1,100.00
    lodgements, unpresented = 8_000, 12_000
    adjusted = statement_balance + lodgements - unpresented  # 1,060.00
    cashbook = 100_000 + 25_000 + 15_000 - 30_000 - 12_000 + 8_000  # 1,060.00
    assert view["statement_balance"] == eur(statement_balance)
    assert view["outstanding_lodgements"] == eur(lodgements)
    assert view["unpresented_payments"] == eur(unpresented)
    assert view["adjusted_bank_balance"] == eur(adjusted)
    assert view["cashbook_balance"] == eur(cashbook)
    assert view["difference"] == eur(adjusted - cashbook)
    assert view["client_ledgers_total"] == eur(CLIENT_LEDGERS_31_MARCH)
    assert view["three_way_difference"] == eur(cashbook - CLIENT_LEDGERS_31_MARCH)
    assert view["can_sign"] is True
    assert [i["amount"] for i in view["outstanding_lodgement_items"]] == [eur(8_000)]
    assert [i["amount"] for i in view["unpresented_payment_items"]] == [eur(-12_000)]
    assert view["unexplained_items"] == []
    [pair] = view["cancelling_bank_items"]
    assert (pair["charge"]["bank_id"], pair["replaced_by"]["bank_id"]) == ("AIB0331C1", "AIB0331C2")
    assert service.ledger.calls[-1] == (firm, CLIENT, MARCH_END)

    # Earlier, on 5 March: only the deposit is on the statement; two receipts wait to be banked.
    async with client_for(service.app, firm, Role.VIEWER) as http:
        early = (
            await http.get(
                f"/firms/{firm}/bank-accounts/{CLIENT}/reconciliation",
                params={"as_of": "2025-03-05"},
            )
        ).json()
    assert early["statement_balance"] == eur(100_000)
    assert early["outstanding_lodgements"] == eur(25_000 + 15_000)
    assert early["cashbook_balance"] == eur(100_000 + 25_000 + 15_000)
    assert early["difference"] == eur(0)


async def test_signing_publishes_the_figures_and_locks_the_period(
    service: RunningService, firm: str
) -> None:
    service.ledger.totals[firm] = lambda account, as_of: CLIENT_LEDGERS_31_MARCH
    async with client_for(service.app, firm) as http:
        await _reconciled_march(service, firm, http)
        await http.post(f"/firms/{firm}/bank-accounts/{CLIENT}/auto-match")
        response = await http.post(
            f"/firms/{firm}/bank-accounts/{CLIENT}/reconciliations", json={"as_of": "2025-03-31"}
        )
        assert response.status_code == 201, response.text
        signed = response.json()
        assert signed["signed_by"] == "mary.cashier"

        twice = await http.post(
            f"/firms/{firm}/bank-accounts/{CLIENT}/reconciliations", json={"as_of": "2025-03-31"}
        )
        assert twice.status_code == 409
        assert "already reconciled" in twice.json()["detail"]

        matches = (await http.get(f"/firms/{firm}/bank-accounts/{CLIENT}/matches")).json()
        march = next(m for m in matches if m["rule"] == "one_line_to_many_entries")
        locked = await http.delete(
            f"/firms/{firm}/bank-accounts/{CLIENT}/matches/{march['match_id']}"
        )
        assert locked.status_code == 409
        assert "locked through 2025-03-31" in locked.json()["detail"]
        listed = (await http.get(f"/firms/{firm}/bank-accounts/{CLIENT}/reconciliations")).json()
        accounts = (await http.get(f"/firms/{firm}/bank-accounts")).json()
    assert [r["as_of"] for r in listed] == ["2025-03-31"]
    assert next(a for a in accounts if a["bank_account_id"] == CLIENT)["reconciled_through"] == (
        "2025-03-31"
    )

    [event] = await published(
        service.settings.kafka_bootstrap_servers, firm, "reconciliation.signed"
    )
    data = event.data.model_dump(mode="json")
    assert data["reconciliation_id"] == signed["reconciliation_id"]
    assert (data["bank_account_id"], data["account_kind"], data["as_of"]) == (
        CLIENT,
        "client",
        "2025-03-31",
    )
    assert data["statement_balance"] == eur(110_000)
    assert data["outstanding_lodgements"] == eur(8_000)
    assert data["unpresented_payments"] == eur(12_000)
    assert data["adjusted_bank_balance"] == eur(110_000 + 8_000 - 12_000)
    assert data["cashbook_balance"] == eur(106_000)
    assert data["client_ledgers_total"] == eur(106_000)
    assert data["signed_by"] == "mary.cashier"


async def test_signing_is_refused_while_any_difference_remains(
    service: RunningService, firm: str
) -> None:
    # The ledger says the client ledgers hold 10.00 more than the cashbook: a three-way break.
    service.ledger.totals[firm] = lambda account, as_of: CLIENT_LEDGERS_31_MARCH + 1_000
    async with client_for(service.app, firm) as http:
        await _reconciled_march(service, firm, http)
        await http.post(f"/firms/{firm}/bank-accounts/{CLIENT}/auto-match")
        refused = await http.post(
            f"/firms/{firm}/bank-accounts/{CLIENT}/reconciliations", json={"as_of": "2025-03-31"}
        )
        assert refused.status_code == 409
        body = refused.json()
        assert "sum of client ledgers by -10.00 EUR" in body["detail"]
        assert body["figures"]["three_way_difference"] == eur(106_000 - 107_000)
        assert body["figures"]["difference"] == eur(0)

        # The office account: a receipt of 500.00 banked, and a 12.50 fee the cashbook lacks.
        receipt = office_receipt(firm, date(2025, 3, 4), 50_000, 42, "Payment of bill 01058")
        await produce(service.settings, firm, [receipt])
        await wait_for_journals(service.app, firm, [receipt])
        office = camt053(
            OFFICE_IBAN,
            date(2025, 2, 28),
            0,
            [
                Entry(date(2025, 3, 5), 50_000, "BOI0305", "Payment of bill 01058"),
                Entry(date(2025, 3, 31), -1_250, "BOI0331", "Account maintenance fee"),
            ],
            MARCH_END,
        )
        assert (
            await http.post(f"/firms/{firm}/bank-accounts/{OFFICE}/statements", **upload(office))
        ).status_code == 201
        await http.post(f"/firms/{firm}/bank-accounts/{OFFICE}/auto-match")
        refused = await http.post(
            f"/firms/{firm}/bank-accounts/{OFFICE}/reconciliations", json={"as_of": "2025-03-31"}
        )
        assert refused.status_code == 409
        figures = refused.json()["figures"]
        assert figures["statement_balance"] == eur(50_000 - 1_250)
        assert figures["cashbook_balance"] == eur(50_000)
        assert figures["difference"] == eur(-1_250)
        assert [i["bank_id"] for i in figures["unexplained_items"]] == ["BOI0331"]
        assert figures["client_ledgers_total"] is None  # two-way: an office account
        assert (
            await http.get(f"/firms/{firm}/bank-accounts/{OFFICE}/reconciliations")
        ).json() == []


async def test_a_cashier_matches_and_unmatches_by_hand(service: RunningService, firm: str) -> None:
    late = client_receipt(firm, date(2025, 3, 2), 9_900, 77, "Client money received — M0077")
    await set_up_firm(service.app, service.settings, firm, late)
    statement = camt053(
        CLIENT_IBAN,
        date(2025, 2, 28),
        0,
        [Entry(date(2025, 3, 14), 9_900, "AIB0314Z", "Transfer from J Byrne")],  # 12 days later
        MARCH_END,
    )
    async with client_for(service.app, firm) as http:
        await http.post(f"/firms/{firm}/bank-accounts/{CLIENT}/statements", **upload(statement))
        auto = (await http.post(f"/firms/{firm}/bank-accounts/{CLIENT}/auto-match")).json()
        assert auto["matched"] == 0  # no reference, and outside the date window
        [entry] = (
            await http.get(
                f"/firms/{firm}/bank-accounts/{CLIENT}/cashbook", params={"unmatched": True}
            )
        ).json()
        unequal = await http.post(
            f"/firms/{firm}/bank-accounts/{CLIENT}/matches",
            json={"line_ids": ["AIB0314Z"], "entry_ids": [entry["entry_id"], entry["entry_id"]]},
        )
        assert unequal.status_code == 422
        made = await http.post(
            f"/firms/{firm}/bank-accounts/{CLIENT}/matches",
            json={"line_ids": ["AIB0314Z"], "entry_ids": [entry["entry_id"]]},
        )
        assert made.status_code == 201, made.text
        match = made.json()
        assert (match["rule"], match["made_by"], match["amount"]) == (
            "manual",
            "mary.cashier",
            eur(9_900),
        )
        reused = await http.post(
            f"/firms/{firm}/bank-accounts/{CLIENT}/matches",
            json={"line_ids": ["AIB0314Z"], "entry_ids": [entry["entry_id"]]},
        )
        assert reused.status_code == 409
        assert "already in match" in reused.json()["detail"]
        path = f"/firms/{firm}/bank-accounts/{CLIENT}/matches/{match['match_id']}"
        assert (await http.delete(path)).status_code == 204
        assert (await http.delete(path)).status_code == 404
        assert (await http.get(f"/firms/{firm}/bank-accounts/{CLIENT}/matches")).json() == []
    async with client_for(service.app, firm, Role.VIEWER) as http:
        refused = await http.post(
            f"/firms/{firm}/bank-accounts/{CLIENT}/matches",
            json={"line_ids": ["AIB0314Z"], "entry_ids": [entry["entry_id"]]},
        )
        assert refused.status_code == 403


async def test_a_date_no_statement_covers_cannot_be_reconciled(
    service: RunningService, firm: str
) -> None:
    service.ledger.totals[firm] = lambda account, as_of: 0
    async with client_for(service.app, firm) as http:
        await _reconciled_march(service, firm, http)
        response = await http.get(
            f"/firms/{firm}/bank-accounts/{CLIENT}/reconciliation", params={"as_of": "2025-04-30"}
        )
    assert response.status_code == 409
    assert "statements cover 2025-03-01 to 2025-03-31" in response.json()["detail"]


async def test_without_the_ledgers_figure_a_client_account_is_shown_but_cannot_be_signed(
    service: RunningService, firm: str
) -> None:
    # The stub ledger knows nothing of this firm (as a ledger not set up yet would answer).
    async with client_for(service.app, firm) as http:
        await _reconciled_march(service, firm, http)
        await http.post(f"/firms/{firm}/bank-accounts/{CLIENT}/auto-match")
        shown = await http.get(
            f"/firms/{firm}/bank-accounts/{CLIENT}/reconciliation", params={"as_of": "2025-03-31"}
        )
        signing = await http.post(
            f"/firms/{firm}/bank-accounts/{CLIENT}/reconciliations", json={"as_of": "2025-03-31"}
        )
    assert shown.status_code == 200
    view = shown.json()
    assert view["difference"] == eur(0)  # the two-way figures stand on their own
    assert (view["client_ledgers_total"], view["three_way_difference"]) == (None, None)
    assert view["can_sign"] is False
    assert "ledger answered 404" in view["three_way_unavailable"]
    assert signing.status_code == 502
    assert "sum of client ledgers" in signing.json()["detail"]

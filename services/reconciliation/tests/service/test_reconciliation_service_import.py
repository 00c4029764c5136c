"""Importing statements through the API: every format, re-imports and overlaps that add nothing
twice, continuity breaks reported and raised once, and bad files refused with the line and the
reason, with nothing stored."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx
from reconciliation_service_fixtures import (
    CLIENT,
    CLIENT_IBAN,
    CSV_MAPPING,
    OFFICE,
    OFFICE_IBAN,
    OTHER_IBAN,
    Entry,
    camt053,
    client_for,
    csv_export,
    mt940,
    ofx,
    published,
    set_up_firm,
    upload,
)

from cashroom_chassis.auth import Role
from conftest import RunningService

MARCH = [
    Entry(date(2025, 3, 3), 100_000, "AIB0303A1", "Deposit M0042", "LODG-1001"),
    Entry(date(2025, 3, 6), 40_000, "AIB0306A1", "Lodgement 2 items"),
    Entry(date(2025, 3, 12), -30_000, "AIB0312A1", "Cheque 100234 Land Registry", "100234"),
]
APRIL = [
    Entry(date(2025, 4, 2), 25_000, "AIB0402A1", "Deposit M0051"),
    Entry(date(2025, 4, 9), -5_000, "AIB0409A1", "Search fee M0051"),
]


def client_march() -> bytes:
    return camt053(CLIENT_IBAN, date(2025, 2, 28), 0, MARCH, date(2025, 3, 31))


async def _import(
    http: httpx.AsyncClient, firm: str, account: int, data: bytes, **form: str
) -> httpx.Response:
    return await http.post(
        f"/firms/{firm}/bank-accounts/{account}/statements", **upload(data, **form)
    )


async def _lines(http: httpx.AsyncClient, firm: str, account: int) -> list[dict[str, Any]]:
    response = await http.get(f"/firms/{firm}/bank-accounts/{account}/statement-lines")
    assert response.status_code == 200
    lines: list[dict[str, Any]] = response.json()
    return lines


async def test_a_camt053_statement_is_imported_whole(service: RunningService, firm: str) -> None:
    await set_up_firm(service.app, service.settings, firm)
    async with client_for(service.app, firm) as http:
        response = await _import(http, firm, CLIENT, client_march(), format="camt053")
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["format"] == "camt053"
        assert (body["lines_new"], body["lines_already_known"]) == (3, 0)
        assert (body["period_start"], body["period_end"]) == ("2025-03-01", "2025-03-31")
        assert body["opening_balance"] == {"amount_minor": 0, "currency": "EUR"}
        # 1,000.00 + 400.00 − 300.00
        assert body["closing_balance"] == {
            "amount_minor": 100_000 + 40_000 - 30_000,
            "currency": "EUR",
        }
        assert body["breaks"] == []
        lines = await _lines(http, firm, CLIENT)
    assert [(line["bank_id"], line["amount"]["amount_minor"]) for line in lines] == [
        ("AIB0303A1", 100_000),
        ("AIB0306A1", 40_000),
        ("AIB0312A1", -30_000),
    ]
    [event] = await published(
        service.settings.kafka_bootstrap_servers, firm, "reconciliation.statement.imported"
    )
    assert event.data.lines_new == 3
    assert str(event.data.statement_id) == body["statement_id"]


async def test_the_same_file_again_and_an_overlapping_statement_add_nothing_twice(
    service: RunningService, firm: str
) -> None:
    await set_up_firm(service.app, service.settings, firm)
    async with client_for(service.app, firm) as http:
        first = await _import(http, firm, CLIENT, client_march())
        again = await _import(http, firm, CLIENT, client_march())
        assert again.status_code == 201
        assert (again.json()["lines_new"], again.json()["lines_already_known"]) == (0, 3)
        assert again.json()["statement_id"] == first.json()["statement_id"]
        assert again.json()["already_imported"] is True

        # 12 March to 30 April: the cheque of 12 March again, and April's two lines.
        overlapping = camt053(
            CLIENT_IBAN,
            date(2025, 3, 11),
            100_000 + 40_000,
            [MARCH[2], *APRIL],
            date(2025, 4, 30),
            statement_id="STMT-2",
        )
        response = await _import(http, firm, CLIENT, overlapping)
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["lines_new"], body["lines_already_known"]) == (2, 1)
        assert body["breaks"] == []
        # 1,100.00 at the end of March, + 250.00 − 50.00 in April
        assert body["closing_balance"]["amount_minor"] == 110_000 + 25_000 - 5_000
        lines = await _lines(http, firm, CLIENT)
        statements = (await http.get(f"/firms/{firm}/bank-accounts/{CLIENT}/statements")).json()
    assert len(lines) == 3 + 2
    assert len(lines) == len({line["bank_id"] for line in lines})
    assert len(statements) == 2


async def test_ofx_mt940_and_csv_statements_are_imported(
    service: RunningService, firm: str
) -> None:
    await set_up_firm(service.app, service.settings, firm)
    office = [
        Entry(date(2025, 3, 4), 50_000, "BOI-0001", "Payment of bill 01058"),
        Entry(date(2025, 3, 20), -2_500, "BOI-0002", "Court fees", "100871"),
    ]
    april = [Entry(date(2025, 4, 3), 12_000, "AIB0403X", "Payment of bill 01059", "EFT-000174")]
    may = [Entry(date(2025, 5, 6), -1_250, "n/a", "Account fee")]
    async with client_for(service.app, firm) as http:
        # OFX states only its closing balance: 475.00; the opening is carried back from it.
        response = await _import(
            http,
            firm,
            OFFICE,
            ofx("90583812341001", date(2025, 3, 1), date(2025, 3, 31), office, 47_500),
        )
        assert response.status_code == 201, response.text
        assert response.json()["format"] == "ofx"
        assert response.json()["opening_balance"]["amount_minor"] == 47_500 - (50_000 - 2_500)

        response = await _import(
            http,
            firm,
            OFFICE,
            mt940(OFFICE_IBAN, date(2025, 3, 31), 47_500, april, date(2025, 4, 30)),
        )
        assert response.status_code == 201, response.text
        assert response.json()["format"] == "mt940"
        assert response.json()["breaks"] == []
        assert response.json()["closing_balance"]["amount_minor"] == 47_500 + 12_000

        csv_file = csv_export(59_500, may)
        response = await _import(
            http,
            firm,
            OFFICE,
            csv_file,
            format="csv",
            csv_mapping=json.dumps({**CSV_MAPPING, "account": {"iban": OFFICE_IBAN}}),
        )
        assert response.status_code == 201, response.text
        assert response.json()["format"] == "csv"
        assert response.json()["opening_balance"]["amount_minor"] == 59_500
        assert response.json()["closing_balance"]["amount_minor"] == 59_500 - 1_250

        # The mapping is kept for the account: the next CSV file needs none.
        june = [Entry(date(2025, 6, 2), 3_000, "n/a", "Interest")]
        response = await _import(http, firm, OFFICE, csv_export(58_250, june))
        assert response.status_code == 201, response.text
        assert response.json()["lines_new"] == 1
        lines = await _lines(http, firm, OFFICE)
    assert [line["amount"]["amount_minor"] for line in lines] == [
        50_000,
        -2_500,
        12_000,
        -1_250,
        3_000,
    ]


async def test_a_statement_that_does_not_chain_is_imported_reported_and_raised_once(
    service: RunningService, firm: str
) -> None:
    await set_up_firm(service.app, service.settings, firm)
    async with client_for(service.app, firm) as http:
        await _import(http, firm, CLIENT, client_march())
        # April opens at 1,000.00, but March closed at 1,100.00: 100.00 went missing between.
        gap = camt053(
            CLIENT_IBAN, date(2025, 3, 31), 100_000, APRIL, date(2025, 4, 30), statement_id="S2"
        )
        response = await _import(http, firm, CLIENT, gap)
        assert response.status_code == 201, response.text
        [found] = response.json()["breaks"]
        assert found["kind"] == "opening_not_previous_closing"
        assert found["expected"] == {"amount_minor": 110_000, "currency": "EUR"}
        assert found["found"] == {"amount_minor": 100_000, "currency": "EUR"}
        again = await _import(http, firm, CLIENT, gap)
        assert again.json()["already_imported"] is True
        listed = (await http.get(f"/firms/{firm}/breaches")).json()
    assert [b["kind"] for b in listed] == ["statement_continuity_break"]
    [breach] = await published(
        service.settings.kafka_bootstrap_servers, firm, "reconciliation.breach.raised"
    )
    assert breach.data.kind.value == "statement_continuity_break"
    assert breach.data.bank_account_id == CLIENT


async def test_bad_files_are_refused_with_the_line_and_the_reason_and_nothing_is_stored(
    service: RunningService, firm: str
) -> None:
    await set_up_firm(service.app, service.settings, firm)
    good = client_march()
    bad_amount = good.replace(b">300.00<", b">300.0O<")
    truncated = good[: len(good) * 2 // 3]
    other_iban = camt053(OTHER_IBAN, date(2025, 2, 28), 0, MARCH, date(2025, 3, 31))
    in_sterling = camt053(
        CLIENT_IBAN, date(2025, 2, 28), 0, MARCH, date(2025, 3, 31), currency="GBP"
    )
    office_file = camt053(OFFICE_IBAN, date(2025, 2, 28), 0, MARCH, date(2025, 3, 31))
    cases: list[tuple[bytes, dict[str, str], int, str, str | None]] = [
        (bad_amount, {}, 422, "bad_amount", "Ntry[3]/Amt"),
        (truncated, {}, 422, "truncated", "line"),
        (other_iban, {}, 422, "wrong_account", None),
        (office_file, {}, 422, "wrong_account", None),
        (in_sterling, {}, 422, "mixed_currencies", None),
        (b"%PDF-1.7 a statement as a PDF", {}, 415, "unknown_format", None),
        (b"Date,Amount\n01/03/2025,12.00\n", {}, 415, "unknown_format", None),
        (good, {"format": "ofx"}, 415, "unknown_format", None),
        (b"<x/>" + b" " * (300 * 1024), {}, 413, "oversized", None),
    ]
    async with client_for(service.app, firm) as http:
        for data, form, status, kind, where in cases:
            response = await _import(http, firm, CLIENT, data, **form)
            assert response.status_code == status, (kind, response.text)
            body = response.json()
            assert body["kind"] == kind, body
            assert body["reason"], body
            if where is not None:
                assert where in (body["location"] or ""), body
        csv_refused = await _import(
            http, firm, CLIENT, csv_export(0, MARCH), csv_mapping='{"booking_date": "Date"}'
        )
        assert csv_refused.status_code == 422
        assert "amount" in csv_refused.json()["detail"]
        assert await _lines(http, firm, CLIENT) == []
        assert (await http.get(f"/firms/{firm}/bank-accounts/{CLIENT}/statements")).json() == []
        # The good file still imports afterwards: nothing half-done stood in its way.
        assert (await _import(http, firm, CLIENT, good)).status_code == 201


async def test_a_statement_for_an_unknown_account_or_by_a_viewer_is_refused(
    service: RunningService, firm: str
) -> None:
    await set_up_firm(service.app, service.settings, firm)
    async with client_for(service.app, firm) as http:
        unknown = await _import(http, firm, 9999, client_march())
        assert unknown.status_code == 404
    async with client_for(service.app, firm, Role.VIEWER) as http:
        assert (await _import(http, firm, CLIENT, client_march())).status_code == 403

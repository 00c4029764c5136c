"""Bad input gets a 4xx with a clear message; another firm's reports are refused; the formats
are real: CSV a spreadsheet reads, PDF a readable document with firm, title, period and pages."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from pypdf import PdfReader
from reporting_fixtures import api_app, apply_all, client_for, make_settings, token
from reporting_scenario import envelopes

from cashroom_chassis.auth import Role
from cashroom_chassis.db import Database
from cashroom_chassis.migrations import upgrade
from cashroom_chassis.testing import Infrastructure
from cashroom_reporting.app import MIGRATIONS


@pytest.fixture(scope="module")
async def http(infrastructure: Infrastructure) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    name = uuid.uuid4().hex[:10]
    settings = make_settings(infrastructure, name)
    await upgrade(settings, MIGRATIONS)
    db = Database(settings)
    firm = f"firm-{name}"
    await apply_all(db, envelopes(firm))
    app = api_app(db, settings)
    async with client_for(app, firm, Role.ADMIN) as client:
        response = await client.put(
            f"/firms/{firm}/profile", json={"name": "O'Neill & Walsh — Solicitors"}
        )
        assert response.status_code == 200
        yield firm, client
    await db.dispose()


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        (
            "trial-balance",
            {"as_of": "2025-13-01"},
            422,
            "as_of='2025-13-01' is not a date (YYYY-MM-DD)",
        ),
        (
            "profit-and-loss",
            {"from": "2025-03-31", "to": "2025-01-01"},
            422,
            "starts (2025-03-31) after it ends",
        ),
        ("profit-and-loss", {"to": "2025-01-01"}, 422, "from is required"),
        ("trial-balance", {"asof": "2025-01-01"}, 400, "unknown query parameter(s) asof"),
        ("trial-balance", {"format": "xml"}, 400, "format='xml' is not one of json, csv, pdf"),
        ("trial-balance", {"currency": "usd"}, 422, "not an ISO 4217 code"),
        ("trial-balance", {"currency": "USD"}, 422, "has no postings in USD"),
        ("matter-ledger/999", {}, 404, "has no matter 999"),
        ("matter-ledger/99999999999999999999999", {}, 404, "has no matter 9999999"),
        ("matter-ledger/%2E%2E", {}, 404, "has no matter with reference '..'"),
        ("matter-ledger/abc", {}, 404, "has no matter with reference 'abc'"),
        (
            "nominal-ledger/7777",
            {"from": "2025-01-01", "to": "2025-03-31"},
            404,
            "has no nominal '7777'",
        ),
        (
            "vat-return",
            {"from": "2025-01-01", "to": "2025-03-31", "scheme": "fr"},
            422,
            "is not uk or ie",
        ),
        (
            "audit-trail",
            {"from": "2025-01-01", "to": "2025-03-31", "limit": "0"},
            422,
            "limit must be",
        ),
        ("dormant-balances", {"older_than_days": "soon"}, 422, "is not a whole number"),
        # Numbers too large for a date or a database integer are bad input, not a server error.
        (
            "dormant-balances",
            {"older_than_days": "99999999999999999999"},
            422,
            "older_than_days='99999999999999999999' is out of range: at most 2,147,483,647",
        ),
        ("dormant-balances", {"residual_limit": "1" + "0" * 16}, 422, "out of range"),
        ("breach-register", {"reconciliation_days": "99999999999"}, 422, "out of range"),
        ("breach-register", {"reconciliation_days": "36526"}, 422, "at most 36,525"),
        (
            "profit-and-loss",
            {"from": "0001-01-01", "to": "2025-01-01"},
            422,
            "from='0001-01-01' is outside the dates reports cover (1900-01-01 to 9999-12-30)",
        ),
        ("trial-balance", {"as_of": "9999-12-31"}, 422, "is outside the dates reports cover"),
        (
            "audit-trail",
            {"from": "2025-01-01", "to": "2025-03-31", "offset": "9223372036854775808"},
            422,
            "offset='9223372036854775808' is out of range: at most 2,147,483,647",
        ),
        ("aged-debtors", {"page": "9223372036854775808"}, 422, "page="),
        ("client-ledger-balances", {"page_size": "-99999999999999"}, 422, "page_size="),
    ],
)
async def test_bad_input_is_refused_with_a_clear_message(
    http: tuple[str, httpx.AsyncClient],
    path: str,
    params: dict[str, str],
    status: int,
    message: str,
) -> None:
    firm, client = http
    response = await client.get(f"/firms/{firm}/reports/{path}", params=params)
    assert response.status_code == status
    assert message in response.json()["detail"]


async def test_another_firms_reports_are_refused_as_if_it_did_not_exist(
    http: tuple[str, httpx.AsyncClient],
) -> None:
    firm, client = http
    other = {"Authorization": f"Bearer {token('another-firm')}"}
    response = await client.get(f"/firms/{firm}/reports/trial-balance", headers=other)
    assert response.status_code == 404
    assert (await client.get(f"/firms/{firm}/reports/trial-balance", headers={})).status_code == 200
    no_token = await client.get(
        f"/firms/{firm}/reports/trial-balance", headers={"Authorization": ""}
    )
    assert no_token.status_code == 401


async def test_a_firm_with_no_events_is_unknown(http: tuple[str, httpx.AsyncClient]) -> None:
    _, client = http
    nobody = {"Authorization": f"Bearer {token('nobody')}"}
    response = await client.get("/firms/nobody/reports/trial-balance", headers=nobody)
    assert response.status_code == 404
    assert "no events for firm 'nobody'" in response.json()["detail"]


async def test_accept_header_chooses_the_format_and_an_unknown_one_is_not_acceptable(
    http: tuple[str, httpx.AsyncClient],
) -> None:
    firm, client = http
    url = f"/firms/{firm}/reports/trial-balance"
    as_csv = await client.get(url, params={"as_of": "2025-03-31"}, headers={"Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    refused = await client.get(url, headers={"Accept": "text/html"})
    assert refused.status_code == 406


async def test_csv_reads_back_in_a_spreadsheet_with_decimal_amounts(
    http: tuple[str, httpx.AsyncClient],
) -> None:
    firm, client = http
    response = await client.get(
        f"/firms/{firm}/reports/trial-balance", params={"as_of": "2025-03-31", "format": "csv"}
    )
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == ["Trial balance"]
    assert table[1] == ["Firm", "O'Neill & Walsh — Solicitors"]
    header = table.index(["Code", "Nominal", "Type", "Debit", "Credit"])
    fees = next(r for r in table[header:] if r[0] == "4000")
    assert fees[3:] == ["", "1000.00"]  # £1,000 of fees on the credit side
    assert ["", "Totals", "", "1870.00", "1870.00"] in table


async def test_pdf_is_a_readable_document_with_firm_title_period_and_page_numbers(
    http: tuple[str, httpx.AsyncClient],
) -> None:
    firm, client = http
    response = await client.get(
        f"/firms/{firm}/reports/client-ledger-balances",
        params={"as_of": "2025-03-31", "format": "pdf", "include_zero": "true"},
    )
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    pages = len(reader.pages)
    assert "O'Neill & Walsh - Solicitors" in text  # the em dash is set as a hyphen
    assert "Client ledger balances" in text
    assert "as at 31 March 2025" in text
    assert f"Page 1 of {pages}" in text
    assert "00503-Walsh" in text and "-50.00" in text  # the overdrawn ledger
    assert "Áine O'Neill" in text


async def test_a_long_report_runs_to_several_numbered_pages(
    http: tuple[str, httpx.AsyncClient],
) -> None:
    firm, client = http
    response = await client.get(
        f"/firms/{firm}/reports/audit-trail",
        params={"from": "2020-01-01", "to": "2025-12-31", "format": "pdf"},
    )
    reader = PdfReader(io.BytesIO(response.content))
    pages = len(reader.pages)
    assert pages >= 1
    last = reader.pages[-1].extract_text()
    assert f"Page {pages} of {pages}" in last

"""Which VAT return a firm gets when it does not say: its own. A firm in Ireland files the VAT3,
a firm in England and Wales the UK 9-box return; a scheme asked for still wins, and the return
says which scheme it used and why (and when the one asked for is not the firm's own). The
client listing, likewise, cites the rules of the firm's own regulator."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from reporting_fixtures import api_app, apply_all, client_for, make_settings
from reporting_scenario import envelopes

from cashroom_chassis.auth import Role
from cashroom_chassis.db import Database
from cashroom_chassis.migrations import upgrade
from cashroom_chassis.testing import Infrastructure
from cashroom_reporting.app import MIGRATIONS
from cashroom_reporting.domain.vat import Jurisdiction, Scheme, choose_scheme

# --- the rule ----------------------------------------------------------------------------------


def test_the_default_scheme_is_the_firms_jurisdiction() -> None:
    assert choose_scheme(None, Jurisdiction.IRELAND, "GBP").scheme is Scheme.IE
    assert choose_scheme(None, Jurisdiction.ENGLAND_AND_WALES, "EUR").scheme is Scheme.UK


def test_without_a_jurisdiction_the_books_currency_says_which_chart_the_firm_uses() -> None:
    irish = choose_scheme(None, None, "EUR")
    assert irish.scheme is Scheme.IE
    assert "EUR" in irish.basis and "Ireland" in irish.basis
    assert choose_scheme(None, None, "GBP").scheme is Scheme.UK
    unknown = choose_scheme(None, None, "USD")
    assert unknown.scheme is Scheme.UK
    assert "no jurisdiction known" in unknown.basis


def test_a_scheme_asked_for_wins_and_a_mismatch_is_said() -> None:
    mismatch = choose_scheme(Scheme.UK, Jurisdiction.IRELAND, "EUR")
    assert mismatch.scheme is Scheme.UK
    assert mismatch.basis == "asked for (scheme=uk)"
    assert mismatch.note is not None and "Irish VAT3" in mismatch.note
    same = choose_scheme(Scheme.IE, Jurisdiction.IRELAND, "EUR")
    assert (same.scheme, same.note) == (Scheme.IE, None)


# --- over HTTP, the worked example's first quarter -------------------------------------------
# Output VAT £200 on bill INV-1 and input VAT £100 on counsel's fee: UK box 1 and VAT3 T1 are
# £200, UK box 4 and VAT3 T2 £100.

Q1 = {"from": "2025-01-01", "to": "2025-03-31"}


@pytest.fixture(scope="module")
async def firm_http(infrastructure: Infrastructure) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    name = uuid.uuid4().hex[:10]
    settings = make_settings(infrastructure, name)
    await upgrade(settings, MIGRATIONS)
    db = Database(settings)
    firm = f"firm-{name}"
    await apply_all(db, envelopes(firm))
    async with client_for(api_app(db, settings), firm, Role.ADMIN) as client:
        yield firm, client
    await db.dispose()


async def _jurisdiction(firm_http: tuple[str, httpx.AsyncClient], jurisdiction: str) -> None:
    firm, http = firm_http
    response = await http.put(f"/firms/{firm}/profile", json={"jurisdiction": jurisdiction})
    assert response.status_code == 200, response.text


async def _vat(firm_http: tuple[str, httpx.AsyncClient], **params: str) -> dict[str, Any]:
    firm, http = firm_http
    response = await http.get(f"/firms/{firm}/reports/vat-return", params={**Q1, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_firm_in_ireland_gets_the_vat3_unless_it_asks_for_the_uk_return(
    firm_http: tuple[str, httpx.AsyncClient],
) -> None:
    await _jurisdiction(firm_http, "ie")
    default = await _vat(firm_http)
    assert default["parameters"]["scheme"] == "ie"
    assert default["parameters"]["scheme_basis"] == "default: the firm's jurisdiction (Ireland)"
    assert (default["figures"]["t1"], default["figures"]["t2"]) == (20000, 10000)
    asked = await _vat(firm_http, scheme="uk")
    assert asked["parameters"]["scheme"] == "uk"
    assert (asked["figures"]["box1"], asked["figures"]["box4"]) == (20000, 10000)
    assert any("would be the Irish VAT3" in n for n in asked["notes"])


async def test_a_firm_in_england_and_wales_gets_the_uk_return_unless_it_asks_for_the_vat3(
    firm_http: tuple[str, httpx.AsyncClient],
) -> None:
    await _jurisdiction(firm_http, "ew")
    default = await _vat(firm_http)
    assert default["parameters"]["scheme"] == "uk"
    assert "England and Wales" in default["parameters"]["scheme_basis"]
    assert default["figures"]["box1"] == 20000
    assert not any("would be" in n for n in default["notes"])
    asked = await _vat(firm_http, scheme="ie")
    assert asked["parameters"]["scheme"] == "ie"
    assert any("would be the UK 9-box return" in n for n in asked["notes"])


async def test_a_profile_without_name_or_jurisdiction_is_refused(
    firm_http: tuple[str, httpx.AsyncClient],
) -> None:
    firm, http = firm_http
    response = await http.put(f"/firms/{firm}/profile", json={})
    assert response.status_code == 422
    assert "jurisdiction" in response.text
    wrong = await http.put(f"/firms/{firm}/profile", json={"jurisdiction": "fr"})
    assert wrong.status_code == 422


async def test_the_client_listing_cites_the_rules_of_the_firms_own_regulator(
    firm_http: tuple[str, httpx.AsyncClient],
) -> None:
    firm, http = firm_http

    async def overdrawn_title() -> str:
        response = await http.get(
            f"/firms/{firm}/reports/client-ledger-balances", params={"as_of": "2025-03-31"}
        )
        assert response.status_code == 200, response.text
        [section] = [s for s in response.json()["sections"] if s["key"] == "overdrawn"]
        return str(section["title"])

    await _jurisdiction(firm_http, "ie")
    assert await overdrawn_title() == (
        "Overdrawn client ledgers (deficit: rectify at once; tell the Law Society if not "
        "rectified within 7 days (Solicitors Accounts Regulations, S.I. 118/2023))"
    )
    await _jurisdiction(firm_http, "ew")
    assert await overdrawn_title() == (
        "Overdrawn client ledgers (breach: replace at once, SRA Accounts Rules 6.1)"
    )

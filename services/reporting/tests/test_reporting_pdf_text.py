"""The PDF's text: the standard font holds Latin-1 alone, so a Latin letter beyond it is written
as its base letter (a client's name stays readable), and only another script becomes '?'."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader

from cashroom_reporting.domain.document import Col, Consistency, Position, Report, Section
from cashroom_reporting.rendering.formats import pdf_safe, to_pdf


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("Łukasz Ó Súilleabháin", "Lukasz Ó Súilleabháin"),
        ("Antonín Dvořák", "Antonín Dvorák"),
        ("Ştefan Ţurcanu", "Stefan Turcanu"),
        ("Œuvre Ltd", "OEuvre Ltd"),
        ("O’Neill — €5…", "O'Neill - EUR 5..."),
        ("Müller & Ærø", "Müller & Ærø"),
        ("李小龍", "???"),
    ],
)
def test_a_name_is_written_in_letters_the_pdf_font_has(name: str, written: str) -> None:
    assert pdf_safe(name) == written


def test_a_pdf_shows_a_polish_clients_name_readably() -> None:
    report = Report(
        kind="client-ledger-balances",
        title="Client ledger balances",
        firm_id="firm-1",
        firm_name="Ó Briain & Co",
        period="as at 31 March 2025",
        currency="EUR",
        parameters={"as_of": date(2025, 3, 31)},
        consistency=Consistency(
            [Position("ledger.events.v1", 0, 41)], datetime(2025, 3, 31, tzinfo=UTC)
        ),
        sections=[
            Section(
                key="matters",
                title="Matters",
                columns=[Col("client", "Client")],
                rows=[{"client": "Łukasz Wiśniewski"}],
            )
        ],
    )
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(to_pdf(report))).pages)
    assert "Lukasz Wisniewski" in text
    assert "Ó Briain & Co" in text

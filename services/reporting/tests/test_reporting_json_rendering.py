"""The JSON a frontend gets: every cell written as the standard library's JSON would write it
(compact, UTF-8 unescaped, dates as ISO 8601), whatever mapping a row is held in, one page of a
listing at a time."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

import pytest

from cashroom_reporting.domain.document import (
    Check,
    Col,
    Consistency,
    Figure,
    Kind,
    Position,
    Report,
    Section,
)
from cashroom_reporting.rendering.formats import to_json

AWKWARD_NAMES = [
    "Ó Súilleabháin & D'Arcy",
    'a "quoted" name\\ with a backslash',
    "tab\there, new\nline, bell\x07, nul\x00",
    "line separator\u2028 and paragraph\u2029",
    "€ £ 漢字 🙂",
]


def _report(rows: list[Any], *, rows_total: int | None = None) -> Report:
    return Report(
        kind="client-ledger-balances",
        title="Client ledger balances",
        firm_id="firm-1",
        firm_name="Ó Briain & Co",
        period="as at 31 March 2025",
        currency="EUR",
        parameters={"as_of": date(2025, 3, 31), "include_zero": False, "note": None},
        consistency=Consistency(
            [Position("ledger.events.v1", 0, 41)],
            datetime(2025, 3, 31, 17, 4, 5, 123456, tzinfo=UTC),
        ),
        sections=[
            Section(
                key="matters",
                title="Matters",
                columns=[
                    Col("matter", "Matter"),
                    Col("client", "Client ledger", Kind.MONEY),
                    Col("last", "Last movement", Kind.DATE),
                    Col("overdrawn", "Overdrawn", Kind.BOOL),
                ],
                rows=rows,
                totals=MappingProxyType({"matter": "Total", "client": -5, "last": None}),
                note="a note",
                highlight_key="overdrawn",
                rows_total=rows_total,
            )
        ],
        figures=[
            Figure("client_bank", "Client bank", 123_456_789_012),
            Figure("as_of", "As of", date(2025, 3, 31), Kind.DATE),
        ],
        checks=[Check("tie-out", "bank", 100, "ledgers", 95)],
        notes=("first", "second"),
    )


def _rows() -> list[Any]:
    rows: list[Any] = []
    for n, name in enumerate(AWKWARD_NAMES):
        row = {"matter": name, "client": n * 1_000 - 2_500, "last": date(2024, 1, n + 1)}
        row["overdrawn"] = row["client"] < 0  # type: ignore[operator]
        rows.append(row if n % 2 else MappingProxyType(row))
    return rows


def _as_the_standard_library_writes_it(document: Any) -> bytes:
    def plain(value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, MappingProxyType):
            return dict(value)
        raise TypeError(type(value).__name__)

    return json.dumps(
        document, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=plain
    ).encode("utf-8")


def test_every_cell_is_written_byte_for_byte_as_the_standard_library_writes_it() -> None:
    rows = _rows()
    written = to_json(_report(rows))

    expected_rows = [
        {
            "matter": name,
            "client": n * 1_000 - 2_500,
            "last": f"2024-01-0{n + 1}",
            "overdrawn": n * 1_000 - 2_500 < 0,
        }
        for n, name in enumerate(AWKWARD_NAMES)
    ]
    document = json.loads(written)
    assert document["sections"][0]["rows"] == expected_rows
    assert document["sections"][0]["totals"] == {"matter": "Total", "client": -5, "last": None}
    assert document["parameters"] == {"as_of": "2025-03-31", "include_zero": False, "note": None}
    assert document["figures"] == {"client_bank": 123_456_789_012, "as_of": "2025-03-31"}
    assert document["consistent_with"]["last_event_time"] == "2025-03-31T17:04:05.123456+00:00"
    assert document["checks"][0]["difference"] == 5
    assert document["checks"][0]["ok"] is False

    assert written == _as_the_standard_library_writes_it(document)


def test_a_page_of_a_listing_holds_that_page_and_counts_every_row() -> None:
    rows = [{"matter": f"m{n}", "client": n, "last": None, "overdrawn": False} for n in range(7)]

    document = json.loads(to_json(_report(rows), page=2, page_size=3))

    section = document["sections"][0]
    assert [r["matter"] for r in section["rows"]] == ["m3", "m4", "m5"]
    assert (section["rows_total"], section["page"], section["page_size"]) == (7, 2, 3)


def test_a_listing_already_cut_to_its_page_is_written_as_it_is() -> None:
    page = [{"matter": "m9", "client": 9, "last": None, "overdrawn": False}]

    document = json.loads(to_json(_report(page, rows_total=40), page=10, page_size=1))

    section = document["sections"][0]
    assert section["rows"] == page
    assert (section["rows_total"], section["page"], section["page_size"]) == (40, 10, 1)


def test_a_cell_of_a_kind_a_report_cannot_hold_is_refused() -> None:
    rows: list[Any] = [{"matter": "m1", "client": object(), "last": None, "overdrawn": False}]

    with pytest.raises(TypeError, match="not JSON serializable: object"):
        to_json(_report(rows))

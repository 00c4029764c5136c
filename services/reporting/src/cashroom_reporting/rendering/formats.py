"""One report document, three formats: JSON for a frontend, CSV for a spreadsheet, PDF for the
file. Money is integer minor units in JSON (with the currency beside it) and decimal text in
CSV and PDF."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import orjson
from fpdf import FPDF

from cashroom_contracts.money import minor_unit_exponent
from cashroom_reporting.domain.document import Cell, Col, Kind, Report, Section


def money_text(amount: int, currency: str, *, grouped: bool = False) -> str:
    exponent = minor_unit_exponent(currency)
    value = Decimal(amount).scaleb(-exponent)
    return f"{value:,.{exponent}f}" if grouped else f"{value:.{exponent}f}"


def _as_dict(value: object) -> dict[str, Any]:
    """orjson writes ``dict``, ``str``, ``int``, ``bool``, ``None`` and ``date`` (as ISO 8601,
    what ``date.isoformat`` gives) itself; a row held in another kind of mapping is written as
    a dict."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"a report cannot hold {type(value).__name__}")


def to_json(report: Report, *, page: int = 1, page_size: int = 0) -> bytes:
    """The report for a frontend, as UTF-8 JSON bytes. With ``page_size`` each section's rows
    are cut to that page (totals, figures and checks always cover every row); 0 gives every
    row. The rows go to the encoder as they are, with their dates, rather than copied cell by
    cell into strings first: a page is a thousand rows."""
    return orjson.dumps(json_document(report, page=page, page_size=page_size), default=_as_dict)


def json_document(report: Report, *, page: int = 1, page_size: int = 0) -> dict[str, Any]:
    """What ``to_json`` writes, before writing: dates are still ``date``."""

    def page_of(section: Section) -> Sequence[Mapping[str, Cell]]:
        if not page_size or section.rows_total is not None:  # already the page
            return section.rows
        return section.rows[(page - 1) * page_size : page * page_size]

    def count(section: Section) -> int:
        return len(section.rows) if section.rows_total is None else section.rows_total

    return {
        "report": report.kind,
        "title": report.title,
        "firm": {"id": report.firm_id, "name": report.firm_name},
        "period": report.period,
        "parameters": dict(report.parameters),
        "currency": report.currency,
        "money": "integer minor units of the currency",
        "consistent_with": {
            "positions": [
                {"topic": p.topic, "partition": p.partition, "offset": p.offset}
                for p in report.consistency.positions
            ],
            "last_event_time": (
                report.consistency.last_event_time.isoformat()
                if report.consistency.last_event_time
                else None
            ),
        },
        "figures": {f.key: f.value for f in report.figures},
        "figure_labels": {f.key: f.label for f in report.figures},
        "figure_kinds": {f.key: f.kind.value for f in report.figures},
        "checks": [
            {
                "label": c.label,
                "left": {"label": c.left_label, "amount": c.left},
                "right": {"label": c.right_label, "amount": c.right},
                "difference": c.difference,
                "ok": c.ok,
            }
            for c in report.checks
        ],
        "sections": [
            {
                "key": s.key,
                "title": s.title,
                "columns": [
                    {"key": c.key, "label": c.label, "kind": c.kind.value} for c in s.columns
                ],
                "rows": list(page_of(s)),
                "rows_total": count(s),
                "page": page if page_size else 1,
                "page_size": page_size or count(s),
                "totals": dict(s.totals) if s.totals else None,
                "note": s.note,
                "highlight": s.highlight_key,
            }
            for s in report.sections
        ],
        "notes": list(report.notes),
    }


def _text(col: Col, value: Cell, currency: str, *, grouped: bool) -> str:
    if value is None:
        return ""
    if col.kind is Kind.MONEY and isinstance(value, int) and not isinstance(value, bool):
        return money_text(value, currency, grouped=grouped)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def consistency_text(report: Report) -> str:
    positions = ", ".join(
        f"{p.topic}[{p.partition}]@{p.offset}" for p in report.consistency.positions
    )
    last = report.consistency.last_event_time
    return f"Consistent with events through {positions or 'none'}" + (
        f" (last event {last.isoformat()})" if last else ""
    )


def to_csv(report: Report) -> str:
    """The report as CSV: a few lines saying what it is, then each section as a block (its
    title, a header row, the rows, the totals row, its note), then figures and checks."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([report.title])
    w.writerow(["Firm", report.firm_name])
    w.writerow(["Period", report.period])
    w.writerow(["Currency", report.currency])
    w.writerow([consistency_text(report)])
    for section in report.sections:
        w.writerow([])
        w.writerow([section.title])
        w.writerow([c.label for c in section.columns])
        for row in section.rows:
            w.writerow(
                [_text(c, row.get(c.key), report.currency, grouped=False) for c in section.columns]
            )
        if section.totals:
            w.writerow(
                [
                    _text(c, section.totals.get(c.key), report.currency, grouped=False)
                    for c in section.columns
                ]
            )
        if section.note:  # what the rows cover (and, for a page, that more follow)
            w.writerow([section.note])
    if report.figures:
        w.writerow([])
        w.writerow(["Figure", "Value"])
        for f in report.figures:
            w.writerow(
                [
                    f.label,
                    _text(Col(f.key, f.label, f.kind), f.value, report.currency, grouped=False),
                ]
            )
    if report.checks:
        w.writerow([])
        w.writerow(["Check", "Left", "Right", "Difference", "Agrees"])
        for c in report.checks:
            w.writerow(
                [
                    c.label,
                    money_text(c.left, report.currency),
                    money_text(c.right, report.currency),
                    money_text(c.difference, report.currency),
                    "yes" if c.ok else "NO",
                ]
            )
    return out.getvalue()


_REPLACEMENTS = str.maketrans(
    {
        "—": "-",
        "–": "-",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "…": "...",
        "€": "EUR ",
        "≥": ">=",
        "≤": "<=",
        # Latin letters with no decomposition into a base letter and an accent:
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Ħ": "H",
        "ħ": "h",
        "ı": "i",
        "Œ": "OE",
        "œ": "oe",
    }
)


def pdf_safe(value: str) -> str:
    """The PDF uses the standard Helvetica font (Latin-1): typographic punctuation is replaced,
    a Latin letter outside Latin-1 is written as its base letter (Łukasz Dvořák: Lukasz Dvorák,
    where '?ukasz Dvo?ák' was written before), and anything else (another script) becomes '?'.
    JSON and CSV keep every name exactly."""
    text = value.translate(_REPLACEMENTS)
    if text.isascii():
        return text
    return "".join(_latin1(c) for c in text)


def _latin1(char: str) -> str:
    if ord(char) < 256:
        return char
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base if base and all(ord(c) < 256 for c in base) else "?"


class _Document(FPDF):
    def __init__(self, report: Report) -> None:
        super().__init__(orientation="L" if report.landscape else "P", unit="mm", format="A4")
        self.report = report
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(10, 10, 10)
        self.alias_nb_pages()

    def header(self) -> None:
        r = self.report
        self.set_font("Helvetica", "B", 13)
        self.cell(0, 6, pdf_safe(r.firm_name), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "B", 11)
        self.cell(0, 6, pdf_safe(r.title), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 9)
        self.cell(
            0, 5, pdf_safe(f"{r.period} - amounts in {r.currency}"), new_x="LMARGIN", new_y="NEXT"
        )
        self.set_font("Helvetica", "", 7)
        self.cell(0, 4, pdf_safe(consistency_text(r)), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", "", 8)
        self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="C")


def _fit(pdf: FPDF, value: str, width: float) -> str:
    text = pdf_safe(value)
    if pdf.get_string_width(text) <= width - 1:
        return text
    while text and pdf.get_string_width(text + "...") > width - 1:
        text = text[:-1]
    return text + "..."


def _table(pdf: _Document, section: Section, currency: str) -> None:
    usable = pdf.w - pdf.l_margin - pdf.r_margin
    scale = usable / sum(c.width for c in section.columns)
    widths = [c.width * scale for c in section.columns]
    aligns = ["R" if c.kind in (Kind.MONEY, Kind.INT) else "L" for c in section.columns]

    def header_row() -> None:
        pdf.set_font("Helvetica", "B", 7)
        pdf.set_fill_color(225, 225, 225)
        for col, width, align in zip(section.columns, widths, aligns, strict=True):
            pdf.cell(width, 5, _fit(pdf, col.label, width), border="B", align=align, fill=True)
        pdf.ln()
        pdf.set_font("Helvetica", "", 7)

    def line(values: dict[str, Cell] | Any, *, bold: bool = False, fill: bool = False) -> None:
        if pdf.will_page_break(5):
            pdf.add_page()
            header_row()
        pdf.set_font("Helvetica", "B" if bold else "", 7)
        pdf.set_fill_color(255, 220, 220)
        for col, width, align in zip(section.columns, widths, aligns, strict=True):
            text = _text(col, values.get(col.key), currency, grouped=True)
            pdf.cell(
                width, 5, _fit(pdf, text, width), align=align, fill=fill, border="T" if bold else 0
            )
        pdf.ln()

    if pdf.will_page_break(20):
        pdf.add_page()
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(0, 6, pdf_safe(section.title), new_x="LMARGIN", new_y="NEXT")
    if section.columns and (section.rows or section.totals):
        header_row()
        for row in section.rows:
            highlight = bool(section.highlight_key and row.get(section.highlight_key))
            line(row, fill=highlight)
        if section.totals:
            line(section.totals, bold=True)
    else:
        pdf.set_font("Helvetica", "I", 8)
        pdf.cell(0, 5, "None.", new_x="LMARGIN", new_y="NEXT")
    if section.note:
        pdf.set_font("Helvetica", "I", 7)
        pdf.multi_cell(0, 4, pdf_safe(section.note), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def to_pdf(report: Report) -> bytes:
    pdf = _Document(report)
    pdf.add_page()
    if report.figures:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(0, 6, "Summary", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 8)
        for f in report.figures:
            value = _text(Col(f.key, f.label, f.kind), f.value, report.currency, grouped=True)
            pdf.cell(110, 5, pdf_safe(f.label))
            pdf.cell(40, 5, pdf_safe(value), align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    if report.checks:
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(0, 6, "Cross-checks", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 8)
        for c in report.checks:
            verdict = (
                "agrees"
                if c.ok
                else f"DIFFERENCE {money_text(c.difference, report.currency, grouped=True)}"
            )
            pdf.multi_cell(
                0,
                5,
                pdf_safe(
                    f"{c.label}: {c.left_label} {money_text(c.left, report.currency, grouped=True)}, "
                    f"{c.right_label} {money_text(c.right, report.currency, grouped=True)} - {verdict}"
                ),
                new_x="LMARGIN",
                new_y="NEXT",
            )
        pdf.ln(2)
    for section in report.sections:
        _table(pdf, section, report.currency)
    for note in report.notes:
        pdf.set_font("Helvetica", "I", 7)
        pdf.multi_cell(0, 4, pdf_safe(note), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())

"""A report as a document: title, firm, period, the as-of position it is consistent with,
sections of rows under typed columns, totals, and the cross-checks that must hold.

Every report builds one of these; the renderers turn it into JSON, CSV or PDF without knowing
which report it is. Money cells are integer minor units in the report's currency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from cashroom_reporting.domain.facts import Header

Cell = str | int | bool | date | None
Row = Mapping[str, Cell]
T = TypeVar("T")


class Kind(StrEnum):
    TEXT = "text"
    MONEY = "money"
    DATE = "date"
    INT = "int"
    BOOL = "bool"


@dataclass(frozen=True, slots=True)
class Col:
    key: str
    label: str
    kind: Kind = Kind.TEXT
    width: float = 1.0
    """Relative width in the PDF."""


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    columns: Sequence[Col]
    rows: Sequence[Row]
    totals: Row | None = None
    note: str | None = None
    highlight_key: str | None = None
    """A bool column; rows where it is true are highlighted (e.g. overdrawn ledgers)."""
    rows_total: int | None = None
    """Set when ``rows`` is one page of a longer listing: how many rows the whole listing has
    (the totals always cover every row)."""


@dataclass(frozen=True, slots=True)
class Page:
    """Which rows of a listing to build: page ``number`` (from 1) of ``size`` rows; size 0 is
    every row (CSV, PDF)."""

    number: int = 1
    size: int = 0

    def of(self, rows: Sequence[T]) -> Sequence[T]:
        if not self.size:
            return rows
        return rows[(self.number - 1) * self.size : self.number * self.size]


EVERY_ROW = Page()


@dataclass(frozen=True, slots=True)
class Check:
    """A cross-check: two figures that must agree, and their difference."""

    label: str
    left_label: str
    left: int
    right_label: str
    right: int

    @property
    def difference(self) -> int:
        return self.left - self.right

    @property
    def ok(self) -> bool:
        return self.difference == 0


@dataclass(frozen=True, slots=True)
class Figure:
    """A headline figure (e.g. net profit, a VAT box)."""

    key: str
    label: str
    value: Cell
    kind: Kind = Kind.MONEY


@dataclass(frozen=True, slots=True)
class Position:
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Consistency:
    """Which events the report reflects: for each topic partition, the offset of the firm's last
    event applied, and the time of the latest of them."""

    positions: Sequence[Position]
    last_event_time: datetime | None


@dataclass(frozen=True)
class Report:
    kind: str
    title: str
    firm_id: str
    firm_name: str
    period: str
    """In words, e.g. "as at 31 March 2025" or "1 January 2025 to 31 March 2025"."""
    currency: str
    parameters: Mapping[str, Cell]
    consistency: Consistency
    sections: Sequence[Section]
    figures: Sequence[Figure] = ()
    checks: Sequence[Check] = ()
    landscape: bool = False
    notes: Sequence[str] = field(default_factory=tuple)

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)

    def figure(self, key: str) -> Cell:
        for figure in self.figures:
            if figure.key == key:
                return figure.value
        raise KeyError(key)


def make_report(
    header: Header,
    consistency: Consistency,
    kind: str,
    title: str,
    period: str,
    parameters: Mapping[str, Cell],
    sections: Sequence[Section],
    figures: Sequence[Figure] = (),
    checks: Sequence[Check] = (),
    *,
    landscape: bool = False,
    notes: Sequence[str] = (),
) -> Report:
    return Report(
        kind=kind,
        title=title,
        firm_id=header.firm_id,
        firm_name=header.firm_name,
        period=period,
        currency=header.currency,
        parameters=dict(parameters),
        consistency=consistency,
        sections=sections,
        figures=figures,
        checks=checks,
        landscape=landscape,
        notes=tuple(notes),
    )


def as_at(day: date) -> str:
    return f"as at {long_date(day)}"


def between(start: date, end: date) -> str:
    return f"{long_date(start)} to {long_date(end)}"


def long_date(day: date) -> str:
    return f"{day.day} {day.strftime('%B')} {day.year}"

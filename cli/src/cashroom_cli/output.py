"""Printing data as a table (for people), JSON or CSV (for other tools)."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from decimal import Decimal
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table

from cashroom_contracts.money import minor_unit_exponent


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def is_money(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"amount_minor", "currency"}


def money_text(value: dict[str, Any]) -> str:
    exponent = minor_unit_exponent(value["currency"])
    amount = Decimal(int(value["amount_minor"])).scaleb(-exponent)
    return f"{amount:,.{exponent}f} {value['currency']}"


_MONEY_TEXT = re.compile(r"^\s*(?:([A-Za-z]{3})\s*)?(-?[\d,]*\.?\d+)\s*(?:([A-Za-z]{3}))?\s*$")


def money_value(name: str, text: str) -> dict[str, Any]:
    """``12.34 EUR`` (or ``EUR 12.34``) as the services' money: integer minor units and the
    currency. The currency must be said, and the amount must fit its minor unit."""
    found = _MONEY_TEXT.match(text)
    currency = found and (found.group(1) or found.group(3))
    if not found or not currency or (found.group(1) and found.group(3)):
        raise ValueError(
            f"{name}={text!r}: give an amount and its currency, e.g. {name}='12.34 EUR'"
        )
    currency = currency.upper()
    exponent = minor_unit_exponent(currency)
    amount = Decimal(found.group(2).replace(",", ""))
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise ValueError(f"{name}={text!r}: {currency} has {exponent} decimal places")
    return {"amount_minor": int(minor), "currency": currency}


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if is_money(value):
        return money_text(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def rows_of(data: Any) -> list[dict[str, Any]]:
    """The rows a payload holds: a list of objects, or the first list of objects inside it."""
    if isinstance(data, list):
        return [r if isinstance(r, dict) else {"value": r} for r in data]
    if isinstance(data, dict):
        for key in ROW_KEYS:
            value = data.get(key)
            if isinstance(value, list):
                return rows_of(value)
        return [{"field": k, "value": v} for k, v in data.items()]
    return [{"value": data}]


ROW_KEYS = ("rows", "lines", "items", "data", "matters", "accounts")


def _is_record(data: Any) -> bool:
    """An object shown as its fields (one row each), not as the rows of a list inside it."""
    return isinstance(data, dict) and not any(isinstance(data.get(k), list) for k in ROW_KEYS)


def emit(
    data: Any, fmt: Format, *, title: str | None = None, console: Console | None = None
) -> None:
    if fmt is Format.JSON:
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return
    rows = rows_of(data)
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    if fmt is Format.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell(row.get(c)) for c in columns])
        sys.stdout.write(buffer.getvalue())
        return
    console = console or Console()
    nested = _nested_lists(data) if _is_record(data) else {}
    if nested:  # an object holding lists of objects: its fields, then each list as a table
        rows = [row for row in rows if row["field"] not in nested]
        columns = ["field", "value"]
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*[cell(row.get(c)) for c in columns])
    console.print(table)
    for key, items in nested.items():
        emit(
            items,
            fmt,
            title=f"{key.replace('_', ' ').capitalize()} ({len(items)})",
            console=console,
        )


def _nested_lists(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The fields of an object that are lists of objects (a reconciliation's unexplained
    items): shown as tables of their own rather than as JSON in a cell."""
    return {
        key: value
        for key, value in data.items()
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
    }


def _minor(amount: Any, currency: str) -> str:
    if amount is None or amount == "":
        return ""
    if is_money(amount):
        return money_text(amount)
    exponent = minor_unit_exponent(currency)
    return f"{Decimal(int(amount)).scaleb(-exponent):,.{exponent}f}"


def is_report(data: Any) -> bool:
    return isinstance(data, dict) and "sections" in data and "title" in data


def render_report(
    data: dict[str, Any],
    console: Console,
    *,
    max_rows: int = 40,
    columns_only: tuple[str, ...] | None = None,
) -> None:
    """A report of the reporting service as a person reads it: heading, key figures, the
    cross-checks with a tick or a cross, then each section as a table (money in the report's
    currency, negative figures shown with a minus)."""
    currency = str(data.get("currency") or "EUR")
    firm = (data.get("firm") or {}).get("name", "")
    console.rule(
        f"[bold]{data.get('title')}[/bold] — {firm} — {data.get('period', '')}"
        f" — amounts in {currency}"
    )
    labels = data.get("figure_labels") or {}
    kinds = data.get("figure_kinds")
    figures = data.get("figures") or {}
    if figures:
        table = Table(show_header=False, box=None, padding=(0, 2))
        for key, value in figures.items():
            money = (
                kinds.get(key) == "money"
                if isinstance(kinds, dict)
                else isinstance(value, int) and "count" not in key  # a service before kinds
            )
            shown = _minor(value, currency) if money and isinstance(value, int) else cell(value)
            table.add_row(labels.get(key, key.replace("_", " ")), shown)
        console.print(table)
    for check in data.get("checks") or []:
        mark = "[green]✓[/green]" if check.get("ok") else "[red]✗[/red]"
        left, right = check.get("left") or {}, check.get("right") or {}
        console.print(
            f" {mark} {check.get('label')}: {left.get('label')} {_minor(left.get('amount'), currency)}"
            f" = {right.get('label')} {_minor(right.get('amount'), currency)}"
            + (
                ""
                if check.get("ok")
                else f" (difference {_minor(check.get('difference'), currency)})"
            )
        )
    for section in data.get("sections") or []:
        columns = [
            c
            for c in section.get("columns") or []
            if columns_only is None or c["key"] in columns_only
        ]
        rows = section.get("rows") or []
        table = Table(title=section.get("title"), title_justify="left")
        for column in columns:
            numeric = column.get("kind") in {"money", "int"}
            table.add_column(
                column.get("label", column["key"]), justify="right" if numeric else "left"
            )

        def show_cell(row: dict[str, Any], column: dict[str, Any]) -> str:
            value = row.get(column["key"])
            return _minor(value, currency) if column.get("kind") == "money" else cell(value)

        highlight = section.get("highlight")
        for row in rows[:max_rows]:
            marked = row.get("overdrawn") or (highlight and row.get(highlight) is True)
            style = "red" if marked else None
            table.add_row(*[show_cell(row, c) for c in columns], style=style)
        totals = section.get("totals")
        if isinstance(totals, dict):
            table.add_row(*[show_cell(totals, c) for c in columns], style="bold")
        console.print(table)
        total_rows = int(section.get("rows_total") or len(rows))
        if total_rows > min(len(rows), max_rows):
            console.print(
                f"  ... {total_rows - min(len(rows), max_rows)} more rows (use --format csv for all)"
            )
        if section.get("note"):
            console.print(f"  {section['note']}")
    for note in data.get("notes") or []:
        console.print(f"[dim]{note}[/dim]")

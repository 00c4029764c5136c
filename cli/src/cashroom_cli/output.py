"""Printing data as a table (for people), JSON or CSV (for other tools)."""

from __future__ import annotations

import csv
import io
import json
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


def cell(value: Any) -> str:
    if value is None:
        return ""
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
        for key in ("rows", "lines", "items", "data", "matters", "accounts"):
            value = data.get(key)
            if isinstance(value, list):
                return rows_of(value)
        return [{"field": k, "value": v} for k, v in data.items()]
    return [{"value": data}]


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
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        table.add_row(*[cell(row.get(c)) for c in columns])
    (console or Console()).print(table)

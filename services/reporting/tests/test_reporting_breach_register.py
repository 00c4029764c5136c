"""The breach register lists every overdrawn client ledger: those the books show overdrawn, and
those whose overdrawing payment the ledger holds until a cashier resolves it (the money has left
the bank; the books do not show it yet). Each ledger once, with the shortfall the ledger named."""

from __future__ import annotations

from datetime import date

from cashroom_reporting.domain.client_money import MatterColumns, breach_register
from cashroom_reporting.domain.document import Consistency
from cashroom_reporting.domain.facts import ExceptionInfo, Header, MatterInfo

AS_OF = date(2026, 9, 30)
POSTED, HELD, RESOLVED, FIXED = 11, 12, 13, 14


def columns(matter_id: int, client: int) -> MatterColumns:
    return MatterColumns(matter_id, client, 0, 0, 0, date(2026, 9, 1), date(2026, 9, 1))


def exception(matter_id: int, amount: int, resolution: str | None = None) -> ExceptionInfo:
    return ExceptionInfo(
        exception_id=f"e-{matter_id}",
        kind="overdrawn_client_ledger",
        matter_id=matter_id,
        raised_on=date(2026, 9, 10),
        amount=amount,
        detail="would overdraw",
        resolution=resolution,
        resolved_by="cashier" if resolution else None,
        resolution_reason="why" if resolution else None,
        resolved_on=date(2026, 9, 11) if resolution else None,
    )


def info(matter_id: int) -> MatterInfo:
    return MatterInfo(
        matter_id, f"0000{matter_id}-M", "", 1, f"Client {matter_id}", None, None, None
    )


def test_a_held_overdrawing_payment_lists_its_ledger_as_overdrawn_once() -> None:
    report = breach_register(
        Header("firm", "Firm", "EUR"),
        Consistency((), None),
        [
            columns(POSTED, -5_000),  # overdrawn in the books (a breach recorded and posted)
            columns(HELD, 20_000),  # holds 200.00; a 1,450.00 payment is held: 1,250.00 short
            columns(RESOLVED, -3_000),  # its exception was recorded as a breach: posted
            columns(FIXED, 7_000),  # its exception was fixed at source: nothing is short
        ],
        {m: info(m) for m in (POSTED, HELD, RESOLVED, FIXED)},
        [
            exception(POSTED, 5_000),  # already shown by the books: not counted twice
            exception(HELD, 125_000),
            exception(RESOLVED, 3_000, "recorded_as_breach"),
            exception(FIXED, 9_000, "fixed_at_source"),
        ],
        [],
        [],
        AS_OF,
        reconciliation_days=35,
    )

    rows = report.section("overdrawn").rows
    assert [(r["matter_ref"], r["client_balance"], r["shortfall"]) for r in rows] == [
        ("000011-M", -5_000, 5_000),
        ("000013-M", -3_000, 3_000),
        ("000012-M", 20_000, 125_000),
    ]
    assert [r["status"] for r in rows][:2] == ["posted", "posted"]
    assert str(rows[2]["status"]).startswith("held")
    assert report.figure("overdrawn_count") == 3
    assert report.figure("shortfall") == 5_000 + 3_000 + 125_000
    assert report.figure("unresolved_exceptions") == 2  # POSTED's and HELD's

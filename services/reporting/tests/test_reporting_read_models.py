"""The read models themselves, against the real PostgreSQL: a back-dated journal moves every later
balance; a reversal settles the bill it reverses; a payment posted before Clio's record of it
finds its bill when the record arrives; a malformed journal is refused whole; and the SQL
recomputation gives exactly the rows the handlers kept."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from reporting_fixtures import apply_all
from reporting_scenario import (
    M_ONEILL,
    bill_content,
    client_side,
    envelope,
    journal,
    line,
    office_side,
    src,
)
from sqlalchemy import text

from cashroom_chassis.db import Database
from cashroom_contracts.events import clio, ledger, reconciliation
from cashroom_contracts.events.common import AccountKind
from cashroom_reporting import chart_of_accounts
from cashroom_reporting.db import queries, recompute
from cashroom_reporting.domain.chart import AccountRole
from cashroom_reporting.domain.postings import MalformedJournal
from cashroom_reporting.handlers import handle

FIRM = "firm-read-models"


def receipt(day: date, pence: int, ref: str) -> Any:
    return journal(
        day,
        "client_receipt",
        "receipt",
        ("BankTransaction", ref),
        [line("1100", pence, bank=11), client_side(credit=pence, matter=M_ONEILL)],
    )


async def test_a_back_dated_journal_moves_every_later_balance(db: Database) -> None:
    await apply_all(
        db,
        [
            envelope(FIRM, receipt(date(2025, 3, 1), 10_000, "1"), 0),
            envelope(FIRM, receipt(date(2025, 3, 20), 5_000, "2"), 1),
        ],
    )
    await apply_all(db, [envelope(FIRM, receipt(date(2025, 1, 15), 700, "3"), 2)])
    async with db.transaction() as session:

        def bank(b: dict[str, Any]) -> int:
            return int(b["1100"].net)

        assert bank(await queries.account_balances(session, FIRM, "GBP", date(2025, 2, 1))) == 700
        assert (
            bank(await queries.account_balances(session, FIRM, "GBP", date(2025, 3, 1)))
            == 700 + 10_000
        )
        assert (
            bank(await queries.account_balances(session, FIRM, "GBP", date(2025, 3, 31)))
            == 700 + 10_000 + 5_000
        )
        [matter] = await queries.matter_balances(session, FIRM, "GBP", date(2025, 3, 10))
        assert (matter.movement.credit, matter.last_movement_on) == (10_700, date(2025, 3, 1))


async def test_a_reversal_settles_the_bill_it_reverses_and_a_late_payment_record_finds_its_bill(
    db: Database,
) -> None:
    firm = FIRM + "-items"
    bill = journal(
        date(2025, 1, 10),
        "bill",
        "Bill 1",
        ("Bill", "1"),
        [
            office_side("1200", 12_000, matter=M_ONEILL),
            line("4000", credit=10_000),
            line("2200", credit=2_000),
        ],
    )
    bill2 = journal(
        date(2025, 1, 11),
        "bill",
        "Bill 2",
        ("Bill", "2"),
        [office_side("1200", 6_000, matter=M_ONEILL), line("4000", credit=6_000)],
    )
    reversal = journal(
        date(2025, 2, 1),
        "bill_reversal",
        "Bill 1 voided",
        ("Bill", "1"),
        [
            office_side("1200", credit=12_000, matter=M_ONEILL),
            line("4000", 10_000),
            line("2200", 2_000),
        ],
        reverses=bill.journal_id,
        reason="voided in Clio",
    )
    payment = journal(
        date(2025, 2, 5),
        "bill_payment_into_office",
        "paid",
        ("Allocation", "77"),
        [line("1000", 6_000, bank=10), office_side("1200", credit=6_000, matter=M_ONEILL)],
    )
    await apply_all(
        db, [envelope(firm, p, n) for n, p in enumerate([bill, bill2, reversal, payment])]
    )

    async def open_items(day: date) -> dict[str, int]:
        async with db.transaction() as session:
            items = await queries.open_items(session, firm, {"1200"}, "GBP", day)
        return {i.item_key: i.movement.net for i in items}

    # Until Clio's records arrive, each line's item is its journal's source.
    assert await open_items(date(2025, 1, 31)) == {
        "source:clio:Bill:1": 12_000,
        "source:clio:Bill:2": 6_000,
    }
    approved = clio.BillApproved(
        source=src("Bill", 2), bill=bill_content().model_copy(update={"bill_id": 2})
    )
    voided = clio.BillVoided(
        source=src("Bill", 1), bill_id=1, matter_id=M_ONEILL, voided_on=date(2025, 2, 1)
    )
    await apply_all(db, [envelope(firm, approved, 5), envelope(firm, voided, 6)])
    assert await open_items(date(2025, 1, 31)) == {"bill:1": 12_000, "bill:2": 6_000}
    assert await open_items(date(2025, 3, 31)) == {
        "bill:2": 6_000,
        "source:clio:Allocation:77": -6_000,
    }
    late = clio.BillPaymentReceived(
        source=src("Allocation", 77),
        payment_id=77,
        bill_id=2,
        matter_id=M_ONEILL,
        paid_on=date(2025, 2, 5),
        amount=line("1000", 6_000).debit,
        paid_from=AccountKind.OFFICE,
        bank_account_id=10,
    )
    await apply_all(db, [envelope(firm, late, 9)])
    assert await open_items(date(2025, 3, 31)) == {}  # bill 1 reversed, bill 2 paid
    assert await open_items(date(2025, 2, 3)) == {"bill:2": 6_000}  # before the payment


async def test_a_malformed_journal_changes_nothing(db: Database) -> None:
    firm = FIRM + "-bad"
    bad = journal(
        date(2025, 1, 6),
        "client_receipt",
        "x",
        ("T", "1"),
        [line("1100", 100), line("2100", credit=90)],
    )
    async with db.unit_of_work() as uow:
        with pytest.raises(MalformedJournal):
            await handle(uow, envelope(firm, bad))
    async with db.transaction() as session:
        assert (
            await session.scalar(
                text("SELECT COUNT(*) FROM journals WHERE firm_id = :f"), {"f": firm}
            )
            == 0
        )


async def test_the_sql_recomputation_gives_the_rows_the_handlers_kept(db: Database) -> None:
    firm = FIRM + "-recompute"
    from reporting_scenario import envelopes

    await apply_all(db, envelopes(firm))
    await apply_all(db, [envelope(firm, receipt(date(2024, 12, 1), 1_234, "back"), 99)])

    async def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        async with db.transaction() as session:
            found = {}
            for table in recompute.AGGREGATES:
                rows = await session.execute(
                    text(f"SELECT * FROM {table} WHERE firm_id = :f"), {"f": firm}
                )
                found[table] = sorted((tuple(r) for r in rows), key=repr)
            items = await session.execute(
                text("SELECT seq, item_key FROM journal_lines WHERE firm_id = :f ORDER BY seq"),
                {"f": firm},
            )
            found["item_keys"] = [tuple(r) for r in items]
        return found

    kept = await snapshot()
    assert kept["ledger_items"] and kept["matter_daily"]
    async with db.transaction() as session:
        tracked = await chart_of_accounts.tracked_codes(session, firm)
        await recompute.everything(session, firm, sorted(tracked))
    assert await snapshot() == kept


async def test_the_ledgers_chart_event_moves_a_role_and_ageing_follows_it(db: Database) -> None:
    firm = FIRM + "-chart"
    debtors = ledger.AccountUpserted(
        code="1150",
        name="Trade debtors",
        type=ledger.AccountType.ASSET,
        role=ledger.AccountRole.DEBTORS_CONTROL,
        currency="GBP",
    )
    bill = journal(
        date(2025, 1, 10),
        "bill",
        "Bill 3",
        ("Bill", "3"),
        [office_side("1150", 1_200, matter=M_ONEILL), line("4000", credit=1_200)],
    )
    await apply_all(db, [envelope(firm, debtors, 0), envelope(firm, bill, 1)])
    async with db.transaction() as session:
        chart = await chart_of_accounts.load_chart(session, firm)
        assert chart.codes_with(AccountRole.DEBTORS_CONTROL) == {"1150"}
        assert chart.account("1150").name == "Trade debtors"
        items = await queries.open_items(session, firm, {"1150"}, "GBP", date(2025, 3, 31))
    assert [(i.item_key, i.movement.net) for i in items] == [("source:clio:Bill:3", 1_200)]


async def test_a_statement_without_stated_balances_is_kept(db: Database) -> None:
    firm = FIRM + "-statement"
    statement = reconciliation.StatementImported(
        statement_id=uuid.UUID(int=5),
        bank_account_id=11,
        account_kind=AccountKind.CLIENT,
        file_format="csv",
        period_start=date(2025, 1, 1),
        period_end=date(2025, 1, 31),
        opening_balance=None,
        closing_balance=None,
        lines_new=3,
        lines_already_known=0,
    )
    await apply_all(db, [envelope(firm, statement)])
    async with db.transaction() as session:
        row = (
            await session.execute(text("SELECT * FROM statements WHERE firm_id = :f"), {"f": firm})
        ).one()
    assert (row.lines_new, row.opening_balance, row.currency) == (3, None, None)


async def test_a_matters_office_columns_follow_the_roles_the_report_names(db: Database) -> None:
    # One matter's office side on four nominals: 1,000 and 300 on two debtors control
    # nominals, 500 unbilled disbursements, 70 elsewhere; 1200 is named in both roles.
    firm = FIRM + "-columns"
    bill = journal(
        date(2025, 2, 3),
        "bill",
        "Bill 4",
        ("Bill", "4"),
        [
            office_side("1200", 1_000, matter=M_ONEILL),
            office_side("1150", 300, matter=M_ONEILL),
            office_side("1210", 500, matter=M_ONEILL),
            office_side("1220", 70, matter=M_ONEILL),
            line("4000", credit=1_870),
        ],
    )
    await apply_all(db, [envelope(firm, bill)])
    async with db.transaction() as session:
        for unbilled_only in (False, True):
            [columns] = await queries.matter_columns(
                session,
                firm,
                "GBP",
                date(2025, 2, 28),
                debtors={"1150", "1200"},
                unbilled={"1200", "1210"},
                unbilled_only=unbilled_only,
            )
            assert (columns.billed, columns.unbilled_disbursements, columns.other_office) == (
                1_300,
                500,
                70,
            )
        before = await queries.matter_columns(
            session, firm, "GBP", date(2025, 2, 2), debtors={"1200"}, unbilled={"1210"}
        )
    assert before == []

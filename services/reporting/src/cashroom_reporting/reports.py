"""Each report: read what it needs from the read models, hand it to the pure builder.

Errors are typed: ``NotFound`` (unknown firm, matter or account), ``Invalid`` (a parameter that
cannot be right) and ``Unavailable`` (the firm is being rebuilt); the API turns them into 404,
422 and 503.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_reporting import chart_of_accounts
from cashroom_reporting.db import queries
from cashroom_reporting.domain import client_money, financial, operations, subledgers
from cashroom_reporting.domain.chart import AccountRole, Chart
from cashroom_reporting.domain.client_money import MatterColumns
from cashroom_reporting.domain.document import EVERY_ROW, Consistency, Page, Report
from cashroom_reporting.domain.facts import Header, unknown_matter
from cashroom_reporting.domain.postings import ZERO
from cashroom_reporting.domain.vat import Jurisdiction, Scheme, choose_scheme, firm_jurisdiction


class ReportError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ReportError):
    status = 404


class Invalid(ReportError):
    status = 422


class Unavailable(ReportError):
    status = 503


@dataclass(frozen=True, slots=True)
class Context:
    header: Header
    consistency: Consistency
    state: queries.FirmState

    @property
    def profile_jurisdiction(self) -> Jurisdiction | None:
        """The jurisdiction the firm's profile names, if any."""
        return Jurisdiction(self.state.jurisdiction) if self.state.jurisdiction else None

    @property
    def jurisdiction(self) -> Jurisdiction | None:
        """The firm's, as ``firm_jurisdiction`` knows it (profile, else books currency)."""
        return firm_jurisdiction(self.profile_jurisdiction, self.state.books_currency)[0]


async def context(session: AsyncSession, firm_id: str, currency: str | None) -> Context:
    state = await queries.firm_state(session, firm_id)
    if state is None or not (state.events_seen or state.rebuilding):
        raise NotFound(f"no events for firm {firm_id!r} have reached the reporting service")
    if state.rebuilding:
        raise Unavailable(
            f"the read models of firm {firm_id!r} are being rebuilt (started "
            f"{state.rebuild_started_at}); try again shortly"
        )
    books = state.books_currency
    used = await queries.currencies(session, firm_id)
    if currency is None:
        currency = books or (sorted(used)[0] if used else "GBP")
    elif used and currency not in used:
        raise Invalid(
            f"firm {firm_id!r} has no postings in {currency}; it has postings in "
            f"{', '.join(sorted(used))}"
        )
    header = Header(firm_id, state.name or firm_id, currency)
    return Context(header, await queries.consistency(session, firm_id), state)


async def _matter_columns(
    session: AsyncSession,
    firm_id: str,
    currency: str,
    as_of: date,
    chart: Chart,
    *,
    include_zero: bool = False,
    unbilled_only: bool = False,
    client_idle_since: date | None = None,
) -> list[MatterColumns]:
    return await queries.matter_columns(
        session,
        firm_id,
        currency,
        as_of,
        debtors=chart.codes_with(AccountRole.DEBTORS_CONTROL),
        unbilled=chart.codes_with(AccountRole.UNBILLED_DISBURSEMENTS),
        include_zero=include_zero,
        unbilled_only=unbilled_only,
        client_idle_since=client_idle_since,
    )


BIGGEST_ID = 2**63 - 1
"""Clio's ids are bigints: a longer number names no matter."""
EARLIEST, LATEST = date(1900, 1, 1), date(9999, 12, 30)
"""The dates a report may be asked for (a period's opening balance is the day before it starts
and ageing counts back from the date, so year 1 or 31 December 9999 would overflow); a matter's
card starts at EARLIEST when neither the request nor Clio says when."""


def _check_period(start: date, end: date) -> None:
    if start > end:
        raise Invalid(f"the period starts ({start}) after it ends ({end})")


async def trial_balance(
    session: AsyncSession, firm_id: str, currency: str | None, as_of: date
) -> Report:
    ctx = await context(session, firm_id, currency)
    chart = await chart_of_accounts.load_chart(session, firm_id)
    balances = await queries.account_balances(session, firm_id, ctx.header.currency, as_of)
    return financial.trial_balance(ctx.header, ctx.consistency, chart, balances, as_of)


async def profit_and_loss(
    session: AsyncSession, firm_id: str, currency: str | None, start: date, end: date
) -> Report:
    _check_period(start, end)
    ctx = await context(session, firm_id, currency)
    chart = await chart_of_accounts.load_chart(session, firm_id)
    moved = await queries.account_movements(session, firm_id, ctx.header.currency, start, end)
    return financial.profit_and_loss(ctx.header, ctx.consistency, chart, moved, start, end)


async def balance_sheet(
    session: AsyncSession, firm_id: str, currency: str | None, as_of: date
) -> Report:
    ctx = await context(session, firm_id, currency)
    chart = await chart_of_accounts.load_chart(session, firm_id)
    balances = await queries.account_balances(session, firm_id, ctx.header.currency, as_of)
    return financial.balance_sheet(ctx.header, ctx.consistency, chart, balances, as_of)


async def nominal_ledger(
    session: AsyncSession, firm_id: str, currency: str | None, code: str, start: date, end: date
) -> Report:
    _check_period(start, end)
    ctx = await context(session, firm_id, currency)
    if not await queries.account_known(session, firm_id, code):
        raise NotFound(f"firm {firm_id!r} has no nominal {code!r}")
    chart = await chart_of_accounts.load_chart(session, firm_id)
    cur = ctx.header.currency
    opening = (
        await queries.account_balances(session, firm_id, cur, start - timedelta(days=1))
    ).get(code)
    lines = await queries.lines(session, firm_id, cur, start, end, account_code=code)
    return financial.nominal_ledger(
        ctx.header, ctx.consistency, chart, code, opening or ZERO, lines, start, end
    )


async def client_ledger_balances(
    session: AsyncSession,
    firm_id: str,
    currency: str | None,
    as_of: date,
    *,
    include_zero: bool,
    dormant_after_days: int,
    page: Page = EVERY_ROW,
) -> Report:
    ctx = await context(session, firm_id, currency)
    cur = ctx.header.currency
    chart = await chart_of_accounts.load_chart(session, firm_id)
    columns = await _matter_columns(session, firm_id, cur, as_of, chart, include_zero=include_zero)
    listing = client_money.client_listing(columns, include_zero=include_zero)
    infos = await queries.matter_infos(session, firm_id, listing.matter_ids_on(page))
    nominals = await queries.account_balances(session, firm_id, cur, as_of)
    return client_money.client_ledger_balances(
        ctx.header,
        ctx.consistency,
        chart,
        columns,
        infos,
        nominals,
        as_of,
        include_zero=include_zero,
        dormant_after_days=dormant_after_days,
        rules=client_money.rules_for(ctx.jurisdiction),
        page=page,
    )


async def matter_ledger(
    session: AsyncSession,
    firm_id: str,
    currency: str | None,
    matter: str,
    start: date | None,
    end: date,
) -> Report:
    """One matter's ledger card; the matter named by its Clio id or by its reference as the
    reports show it (``00097-Tír``). Without ``start`` the card runs from the day the matter
    was opened (anything earlier is its opening balance), or from its first entry."""
    if start is not None:
        _check_period(start, end)
    ctx = await context(session, firm_id, currency)
    if matter.isdigit():
        matter_id = int(matter)
        if matter_id > BIGGEST_ID or not await queries.matter_exists(session, firm_id, matter_id):
            raise NotFound(f"firm {firm_id!r} has no matter {matter_id}")
    else:
        found = await queries.matter_ids_with_reference(session, firm_id, matter)
        if not found:
            raise NotFound(f"firm {firm_id!r} has no matter with reference {matter!r}")
        if len(found) > 1:
            raise Invalid(f"reference {matter!r} names {len(found)} matters: give its id")
        [matter_id] = found
    cur = ctx.header.currency
    infos = await queries.matter_infos(session, firm_id, [matter_id])
    info = infos.get(matter_id) or unknown_matter(matter_id)
    if start is None:
        start = min(info.opened_on or EARLIEST, end)
    opening = await queries.matter_balances(
        session, firm_id, cur, start - timedelta(days=1), matter_id=matter_id
    )
    office = sum(b.movement.net for b in opening if b.side != "client")
    client = -sum(b.movement.net for b in opening if b.side == "client")
    lines = await queries.lines(session, firm_id, cur, start, end, matter_id=matter_id)
    work = await queries.unbilled_work(session, firm_id, cur, end, matter_id=matter_id)
    chart = await chart_of_accounts.load_chart(session, firm_id)
    debtors = chart.codes_with(AccountRole.DEBTORS_CONTROL)
    items = await queries.open_items(session, firm_id, debtors, cur, end, matter_id=matter_id)
    return client_money.matter_ledger_card(
        ctx.header,
        ctx.consistency,
        info,
        office,
        client,
        lines,
        start,
        end,
        unbilled_time=sum(w.value for w in work if w.matter_id == matter_id and w.kind == "time"),
        outstanding_bills=sum(i.movement.net for i in items if i.matter_id == matter_id),
    )


async def aged_debtors(
    session: AsyncSession,
    firm_id: str,
    currency: str | None,
    as_of: date,
    *,
    page: Page = EVERY_ROW,
) -> Report:
    ctx = await context(session, firm_id, currency)
    cur = ctx.header.currency
    chart = await chart_of_accounts.load_chart(session, firm_id)
    aged = await queries.aged_items(
        session, firm_id, chart.codes_with(AccountRole.DEBTORS_CONTROL), cur, as_of, "bill", page
    )
    shown = aged.on_page
    bills = await queries.bills(
        session, firm_id, queries.item_ids([i.item_key for i in shown], "bill")
    )
    infos = await queries.matter_infos(
        session, firm_id, {i.matter_id for i in shown if i.matter_id}
    )
    nominals = await queries.account_balances(session, firm_id, cur, as_of)
    return subledgers.aged_debtors(
        ctx.header, ctx.consistency, chart, aged, bills, infos, nominals, as_of, page
    )


async def aged_creditors(
    session: AsyncSession,
    firm_id: str,
    currency: str | None,
    as_of: date,
    *,
    page: Page = EVERY_ROW,
) -> Report:
    ctx = await context(session, firm_id, currency)
    cur = ctx.header.currency
    chart = await chart_of_accounts.load_chart(session, firm_id)
    codes = chart.codes_with(AccountRole.PURCHASE_LEDGER_CONTROL)
    aged = await queries.aged_items(session, firm_id, codes, cur, as_of, "invoice", page)
    shown = aged.on_page
    invoices = await queries.invoices(
        session, firm_id, queries.item_ids([i.item_key for i in shown], "invoice")
    )
    matter_ids = {i.matter_id for i in shown if i.matter_id} | {
        v.matter_id for v in invoices.values() if v.matter_id
    }
    infos = await queries.matter_infos(session, firm_id, matter_ids)
    nominals = await queries.account_balances(session, firm_id, cur, as_of)
    return subledgers.aged_creditors(
        ctx.header, ctx.consistency, chart, aged, invoices, infos, nominals, as_of, page
    )


async def unbilled(
    session: AsyncSession,
    firm_id: str,
    currency: str | None,
    as_of: date,
    *,
    page: Page = EVERY_ROW,
) -> Report:
    ctx = await context(session, firm_id, currency)
    cur = ctx.header.currency
    chart = await chart_of_accounts.load_chart(session, firm_id)
    columns = await _matter_columns(session, firm_id, cur, as_of, chart, unbilled_only=True)
    disbursements = {c.matter_id: c.unbilled_disbursements for c in columns}
    work_matters, work_by_kind = await queries.unbilled_work_summary(session, firm_id, cur, as_of)
    shown = page.of(subledgers.unbilled_matters(disbursements, work_matters))
    work = await queries.unbilled_work(session, firm_id, cur, as_of, matter_ids=shown)
    infos = await queries.matter_infos(session, firm_id, shown)
    last_bills = await queries.last_bill_dates(session, firm_id, shown, as_of)
    nominals = await queries.account_balances(session, firm_id, cur, as_of)
    return subledgers.unbilled(
        ctx.header,
        ctx.consistency,
        chart,
        disbursements,
        work,
        work_matters,
        work_by_kind,
        last_bills,
        infos,
        nominals,
        as_of,
        page,
    )


async def vat_return(
    session: AsyncSession,
    firm_id: str,
    currency: str | None,
    start: date,
    end: date,
    scheme: Scheme | None,
) -> Report:
    """``scheme`` None: the firm's own (``vat.choose_scheme``); the return says which it used."""
    _check_period(start, end)
    ctx = await context(session, firm_id, currency)
    cur = ctx.header.currency
    choice = choose_scheme(scheme, ctx.profile_jurisdiction, ctx.state.books_currency)
    chart = await chart_of_accounts.load_chart(session, firm_id)
    by_tag = await queries.vat_totals(session, firm_id, cur, start, end)
    moved = await queries.account_movements(session, firm_id, cur, start, end)
    return operations.vat_return(
        ctx.header, ctx.consistency, chart, by_tag, moved, start, end, choice
    )


async def dormant_balances(
    session: AsyncSession,
    firm_id: str,
    currency: str | None,
    as_of: date,
    *,
    older_than_days: int,
    residual_limit: int,
    page: Page = EVERY_ROW,
) -> Report:
    if older_than_days < 0:
        raise Invalid("older_than_days must be zero or more")
    if residual_limit < 0:
        raise Invalid("residual_limit must be zero or more")
    ctx = await context(session, firm_id, currency)
    cur = ctx.header.currency
    columns: list[MatterColumns] = []
    if older_than_days <= (as_of - date.min).days:  # else nothing can have been idle that long
        # Only the dormant matters are read and named: the database picks them from the
        # balances on the date (about 2,500 matters at 1M journal lines, a handful dormant).
        chart = await chart_of_accounts.load_chart(session, firm_id)
        columns = await _matter_columns(
            session,
            firm_id,
            cur,
            as_of,
            chart,
            client_idle_since=as_of - timedelta(days=older_than_days),
        )
    dormant = client_money.dormant_columns(columns, as_of, older_than_days=older_than_days)
    infos = await queries.matter_infos(session, firm_id, [c.matter_id for c in page.of(dormant)])
    return client_money.dormant_balances(
        ctx.header,
        ctx.consistency,
        columns,
        infos,
        as_of,
        older_than_days=older_than_days,
        residual_limit=residual_limit,
        rules=client_money.rules_for(ctx.jurisdiction),
        page=page,
    )


async def breach_register(
    session: AsyncSession,
    firm_id: str,
    currency: str | None,
    as_of: date,
    *,
    reconciliation_days: int,
) -> Report:
    if reconciliation_days < 1:
        raise Invalid("reconciliation_days must be at least 1")
    ctx = await context(session, firm_id, currency)
    cur = ctx.header.currency
    chart = await chart_of_accounts.load_chart(session, firm_id)
    columns = await _matter_columns(session, firm_id, cur, as_of, chart)
    exceptions = await queries.exceptions(session, firm_id, as_of)
    matter_ids = {c.matter_id for c in columns if c.client < 0} | {
        e.matter_id for e in exceptions if e.matter_id is not None
    }
    infos = await queries.matter_infos(session, firm_id, matter_ids)
    return client_money.breach_register(
        ctx.header,
        ctx.consistency,
        columns,
        infos,
        exceptions,
        await queries.breaches(session, firm_id, as_of),
        await queries.bank_accounts(session, firm_id, as_of),
        as_of,
        reconciliation_days=reconciliation_days,
    )


async def sync_summary(session: AsyncSession, firm_id: str, today: date) -> Report:
    ctx = await context(session, firm_id, None)
    rows = await queries.sync_rows(session, firm_id)
    compared = await queries.sync_compared(session, firm_id)
    return operations.sync_summary(ctx.header, ctx.consistency, rows, today, compared)


async def audit_trail(
    session: AsyncSession,
    firm_id: str,
    start: date,
    end: date,
    *,
    limit: int,
    offset: int,
    entity_type: str | None,
    action: str | None,
) -> Report:
    _check_period(start, end)
    if not 1 <= limit <= 5000:
        raise Invalid("limit must be between 1 and 5000")
    if offset < 0:
        raise Invalid("offset must be zero or more")
    ctx = await context(session, firm_id, None)
    rows, more = await queries.audit_rows(
        session,
        firm_id,
        start,
        end,
        limit=limit,
        offset=offset,
        entity_type=entity_type,
        action=action,
    )
    return operations.audit_trail(
        ctx.header, ctx.consistency, rows, start, end, limit=limit, offset=offset, more=more
    )


REPORT_NAMES: Sequence[str] = (
    "trial-balance",
    "profit-and-loss",
    "balance-sheet",
    "client-ledger-balances",
    "matter-ledger/{matter_id}",
    "nominal-ledger/{code}",
    "aged-debtors",
    "aged-creditors",
    "unbilled",
    "vat-return",
    "dormant-balances",
    "breach-register",
    "sync-summary",
    "audit-trail",
)

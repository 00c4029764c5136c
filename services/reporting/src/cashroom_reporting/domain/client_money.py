"""Client ledger balances listing (§3.2), matter ledger card (§3.11), dormant and residual
balances (§3.12) and the breach register (§2.5; the regulator's rules cited as the firm's
jurisdiction has them: ``RULES``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from cashroom_reporting.domain.ageing import DORMANCY_BANDS, age_in_days, band_for
from cashroom_reporting.domain.chart import AccountRole, Chart
from cashroom_reporting.domain.document import (
    EVERY_ROW,
    Cell,
    Check,
    Col,
    Consistency,
    Figure,
    Kind,
    Page,
    Report,
    Row,
    Section,
    as_at,
    between,
    make_report,
)
from cashroom_reporting.domain.facts import (
    BankAccountInfo,
    BreachInfo,
    ExceptionInfo,
    Header,
    LedgerLine,
    MatterInfo,
    unknown_matter,
)
from cashroom_reporting.domain.financial import balance_of
from cashroom_reporting.domain.postings import Movement
from cashroom_reporting.domain.vat import Jurisdiction

M = Kind.MONEY


@dataclass(frozen=True, slots=True)
class ClientMoneyRules:
    """What the firm's regulator says, where a report tells the cashier what to do."""

    overdrawn: str  # an overdrawn client ledger
    residual: str  # a small client balance whose owner cannot be traced


RULES = {
    Jurisdiction.ENGLAND_AND_WALES: ClientMoneyRules(
        overdrawn="breach: replace at once, SRA Accounts Rules 6.1",
        residual="residual balance route (e.g. charity, SRA Accounts Rules 5.1(c))",
    ),
    Jurisdiction.IRELAND: ClientMoneyRules(
        overdrawn="deficit: rectify at once; tell the Law Society if not rectified within "
        "7 days (Solicitors Accounts Regulations, S.I. 118/2023)",
        residual="list it among the balances held two years or more for the reporting "
        "accountant (S.I. 118/2023)",
    ),
}
ANY_REGULATOR = ClientMoneyRules(
    overdrawn="breach: replace at once",
    residual="the regulator's route for residual balances",
)
"""For a firm whose jurisdiction is not known (no profile, no books currency to go by)."""


def rules_for(jurisdiction: Jurisdiction | None) -> ClientMoneyRules:
    return RULES[jurisdiction] if jurisdiction is not None else ANY_REGULATOR


@dataclass(frozen=True, slots=True)
class MatterColumns:
    """A matter's ledger as of a date. Client balance: credit positive (money held). Office
    figures: debit positive (owed to the firm)."""

    matter_id: int
    client: int
    billed: int
    unbilled_disbursements: int
    other_office: int
    last_movement_on: date
    client_last_movement_on: date | None

    @property
    def office(self) -> int:
        return self.billed + self.unbilled_disbursements + self.other_office


def _info(infos: Mapping[int, MatterInfo], matter_id: int) -> MatterInfo:
    return infos.get(matter_id) or unknown_matter(matter_id)


LISTING_COLUMNS = [
    Col("client_ref", "Client", width=0.6),
    Col("client_name", "Client name", width=1.6),
    Col("matter_ref", "Matter", width=1.1),
    Col("matter_description", "Description", width=1.7),
    Col("fee_earner", "Fee earner", width=0.9),
    Col("client_balance", "Client balance", M),
    Col("office_balance", "Office (billed)", M),
    Col("unbilled_disbursements", "Unbilled disb.", M),
    Col("last_movement_on", "Last movement", Kind.DATE, 0.9),
    Col("days_since", "Days", Kind.INT, 0.5),
]


@dataclass(frozen=True, slots=True)
class ClientListing:
    """Which matters the client ledger listing shows, section by section: every row of each
    section, in order (narrow figures, no names yet)."""

    matters: Sequence[MatterColumns]
    overdrawn: Sequence[MatterColumns]
    office_credit: Sequence[MatterColumns]
    transfer_due: Sequence[MatterColumns]

    def matter_ids_on(self, page: Page) -> set[int]:
        """The matters whose names the given page of every section needs."""
        sections = (self.matters, self.overdrawn, self.office_credit, self.transfer_due)
        return {c.matter_id for rows in sections for c in page.of(rows)}


def client_listing(columns: Sequence[MatterColumns], *, include_zero: bool) -> ClientListing:
    shown = [c for c in columns if include_zero or c.client or c.office]
    return ClientListing(
        matters=shown,
        overdrawn=[c for c in shown if c.client < 0],
        office_credit=[c for c in shown if c.office < 0],
        transfer_due=[c for c in shown if c.client > 0 and c.billed > 0],
    )


def client_ledger_balances(
    header: Header,
    consistency: Consistency,
    chart: Chart,
    columns: Sequence[MatterColumns],
    infos: Mapping[int, MatterInfo],
    nominals: Mapping[str, Movement],
    as_of: date,
    *,
    include_zero: bool,
    dormant_after_days: int,
    rules: ClientMoneyRules = ANY_REGULATOR,
    page: Page = EVERY_ROW,
) -> Report:
    """Totals, counts and checks over every matter in ``columns``; rows built for ``page`` of
    each section only (``infos`` need only name the matters on it)."""
    totals = {
        "client": sum(c.client for c in columns),
        "billed": sum(c.billed for c in columns),
        "unbilled": sum(c.unbilled_disbursements for c in columns),
    }
    listing = client_listing(columns, include_zero=include_zero)
    dormant = sum(
        1
        for c in listing.matters
        if c.client != 0 and age_in_days(c.last_movement_on, as_of) >= dormant_after_days
    )

    def row(c: MatterColumns) -> dict[str, Cell]:
        info = _info(infos, c.matter_id)
        return {
            "client_ref": str(info.client_id) if info.client_id is not None else "",
            "client_name": info.client_name,
            "matter_ref": info.reference,
            "matter_description": info.description,
            "fee_earner": info.fee_earner,
            "client_balance": c.client,
            "office_balance": c.billed,
            "unbilled_disbursements": c.unbilled_disbursements,
            "last_movement_on": c.last_movement_on,
            "days_since": age_in_days(c.last_movement_on, as_of),
            "overdrawn": c.client < 0,
        }

    def rows_of(section: Sequence[MatterColumns]) -> list[Row]:
        return [row(c) for c in page.of(section)]

    paged = len if page.size else (lambda _: None)
    g = nominals
    client_bank = balance_of(g, chart.codes_with(AccountRole.CLIENT_BANK))
    client_control = -balance_of(g, chart.codes_with(AccountRole.CLIENT_MONEY_CONTROL))
    suspense = -balance_of(g, chart.codes_with(AccountRole.CLIENT_SUSPENSE))
    debtors = balance_of(g, chart.codes_with(AccountRole.DEBTORS_CONTROL))
    unbilled = balance_of(g, chart.codes_with(AccountRole.UNBILLED_DISBURSEMENTS))
    checks = [
        Check(
            "Client ledgers total equals client money control",
            "sum of client balances",
            totals["client"],
            "client money control",
            client_control,
        ),
        Check(
            "Client bank tie-out: client bank equals client ledgers plus client suspense",
            "client bank nominals",
            client_bank,
            "client ledgers + suspense",
            totals["client"] + suspense,
        ),
        Check(
            "Office balances total equals debtors control",
            "sum of office (billed) balances",
            totals["billed"],
            "debtors control",
            debtors,
        ),
        Check(
            "Unbilled disbursements total equals the unbilled disbursements nominal",
            "sum of unbilled disbursements",
            totals["unbilled"],
            "unbilled disbursements nominal",
            unbilled,
        ),
    ]
    listing_totals: Row = {
        "client_name": "Totals",
        "client_balance": totals["client"],
        "office_balance": totals["billed"],
        "unbilled_disbursements": totals["unbilled"],
    }
    sections = [
        Section(
            "matters",
            "Client ledger balances",
            LISTING_COLUMNS,
            rows_of(listing.matters),
            listing_totals,
            highlight_key="overdrawn",
            note="Overdrawn client ledgers (a client balance below zero) are highlighted.",
            rows_total=paged(listing.matters),
        ),
        Section(
            "overdrawn",
            f"Overdrawn client ledgers ({rules.overdrawn})",
            LISTING_COLUMNS,
            rows_of(listing.overdrawn),
            highlight_key="overdrawn",
            rows_total=paged(listing.overdrawn),
        ),
        Section(
            "office_credit",
            "Office-side credit balances (possibly client money in the office account)",
            LISTING_COLUMNS,
            rows_of(listing.office_credit),
            rows_total=paged(listing.office_credit),
        ),
        Section(
            "transfer_due",
            "Client money held against billed costs (a transfer may be due)",
            [
                *LISTING_COLUMNS[:6],
                Col("office_balance", "Office (billed)", M),
                Col("transferable", "Transferable", M),
            ],
            [
                {**row(c), "transferable": min(c.client, c.billed)}
                for c in page.of(listing.transfer_due)
            ],
            rows_total=paged(listing.transfer_due),
        ),
    ]
    return make_report(
        header,
        consistency,
        "client-ledger-balances",
        "Client ledger balances",
        as_at(as_of),
        {"as_of": as_of, "include_zero": include_zero},
        sections,
        [
            Figure("client_total", "Client balances", totals["client"]),
            Figure("client_bank", "Client bank", client_bank),
            Figure("client_suspense", "Client suspense", suspense),
            Figure(
                "client_bank_difference",
                "Client bank difference",
                client_bank - totals["client"] - suspense,
            ),
            Figure("office_total", "Office balances (billed)", totals["billed"]),
            Figure("unbilled_total", "Unbilled disbursements", totals["unbilled"]),
            Figure("overdrawn_count", "Overdrawn client ledgers", len(listing.overdrawn), Kind.INT),
            Figure(
                "dormant_count",
                f"Client balances with no movement for {dormant_after_days} days",
                dormant,
                Kind.INT,
            ),
        ],
        checks,
        landscape=True,
    )


def matter_ledger_card(
    header: Header,
    consistency: Consistency,
    info: MatterInfo,
    opening_office: int,
    opening_client: int,
    lines: Sequence[LedgerLine],
    start: date,
    end: date,
    *,
    unbilled_time: int,
    outstanding_bills: int,
) -> Report:
    """Office balance: debit positive. Client balance: credit positive (money held)."""
    office, client = opening_office, opening_client
    rows: list[Row] = [
        {
            "date": start,
            "narrative": "Balances brought forward",
            "office_balance": office,
            "client_balance": client,
            "overdrawn": client < 0,
        }
    ]
    office_dr = office_cr = client_dr = client_cr = 0
    for line in lines:
        debit, credit = line.movement.debit, line.movement.credit
        row: dict[str, Cell] = {
            "date": line.posted_on,
            "ref": line.journal_id[:8],
            "type": line.kind,
            "narrative": line.narrative,
            "nominal": line.account_code,
            "user": line.entered_by,
        }
        if line.side == "client":
            client += credit - debit
            client_dr += debit
            client_cr += credit
            row.update(client_debit=debit or None, client_credit=credit or None)
        else:
            office += debit - credit
            office_dr += debit
            office_cr += credit
            row.update(office_debit=debit or None, office_credit=credit or None)
        row.update(office_balance=office, client_balance=client, overdrawn=client < 0)
        rows.append(row)
    section = Section(
        "lines",
        "Ledger card",
        [
            Col("date", "Date", Kind.DATE, 0.8),
            Col("ref", "Ref", width=0.7),
            Col("type", "Type", width=1.2),
            Col("narrative", "Narrative", width=2.4),
            Col("nominal", "Nominal", width=0.6),
            Col("office_debit", "Office Dr", M, 0.9),
            Col("office_credit", "Office Cr", M, 0.9),
            Col("office_balance", "Office bal.", M, 0.9),
            Col("client_debit", "Client Dr", M, 0.9),
            Col("client_credit", "Client Cr", M, 0.9),
            Col("client_balance", "Client bal.", M, 0.9),
            Col("user", "User", width=0.8),
        ],
        rows,
        {
            "narrative": "Totals and closing balances",
            "office_debit": office_dr,
            "office_credit": office_cr,
            "office_balance": office,
            "client_debit": client_dr,
            "client_credit": client_cr,
            "client_balance": client,
        },
        highlight_key="overdrawn",
    )
    details = Section(
        "matter",
        "Matter",
        [Col("field", "", width=1.0), Col("value", "", width=4.0)],
        [
            {"field": "Client", "value": info.client_name},
            {"field": "Matter", "value": f"{info.reference} — {info.description}"},
            {"field": "Fee earner", "value": info.fee_earner or ""},
            {"field": "Opened", "value": info.opened_on.isoformat() if info.opened_on else ""},
            {"field": "Status", "value": info.status or ""},
        ],
    )
    return make_report(
        header,
        consistency,
        "matter-ledger",
        f"Matter ledger card: {info.reference}",
        between(start, end),
        {"matter_id": info.matter_id, "from": start, "to": end},
        [details, section],
        [
            Figure("office_balance", "Office balance", office),
            Figure("client_balance", "Client balance", client),
            Figure("unbilled_time", "Unbilled time (WIP)", unbilled_time),
            Figure("outstanding_bills", "Outstanding bills", outstanding_bills),
        ],
        landscape=True,
    )


def _client_last_movement(c: MatterColumns) -> date:
    return c.client_last_movement_on or c.last_movement_on


def dormant_columns(
    columns: Sequence[MatterColumns], as_of: date, *, older_than_days: int
) -> list[MatterColumns]:
    """The matters holding client money (or overdrawn) whose client side has not moved for
    ``older_than_days`` days or more on ``as_of``, in the order given."""
    return [
        c
        for c in columns
        if c.client != 0 and age_in_days(_client_last_movement(c), as_of) >= older_than_days
    ]


def dormant_balances(
    header: Header,
    consistency: Consistency,
    columns: Sequence[MatterColumns],
    infos: Mapping[int, MatterInfo],
    as_of: date,
    *,
    older_than_days: int,
    residual_limit: int,
    rules: ClientMoneyRules = ANY_REGULATOR,
    page: Page = EVERY_ROW,
) -> Report:
    """Counts and totals (per age band) over every dormant matter in ``columns``; rows built for
    ``page`` only (``infos`` need only name the matters on it)."""
    dormant = dormant_columns(columns, as_of, older_than_days=older_than_days)
    band_totals: dict[str, list[int]] = {band.label: [0, 0] for band in DORMANCY_BANDS}
    for c in dormant:
        band = band_for(age_in_days(_client_last_movement(c), as_of))
        band_totals[band.label][0] += 1
        band_totals[band.label][1] += c.client
    total = sum(c.client for c in dormant)
    rows: list[Row] = []
    for c in page.of(dormant):
        last = _client_last_movement(c)
        days = age_in_days(last, as_of)
        info = _info(infos, c.matter_id)
        band = band_for(days)
        if c.client < 0:
            action = "overdrawn: replace from office money and investigate"
        elif c.client <= residual_limit:
            action = f"return to client; if untraceable, {rules.residual}"
        else:
            action = "return to client; if untraceable, apply for regulator authorisation"
        rows.append(
            {
                "client_name": info.client_name,
                "matter_ref": info.reference,
                "matter_description": info.description,
                "status": info.status,
                "client_balance": c.client,
                "last_movement_on": last,
                "age_days": days,
                "band": band.label,
                "proposed_action": action,
            }
        )
    return make_report(
        header,
        consistency,
        "dormant-balances",
        "Dormant and residual client balances",
        as_at(as_of),
        {"as_of": as_of, "older_than_days": older_than_days, "residual_limit": residual_limit},
        [
            Section(
                "balances",
                f"Client balances with no client-side movement for {older_than_days} days or more",
                [
                    Col("client_name", "Client", width=1.4),
                    Col("matter_ref", "Matter", width=1.0),
                    Col("matter_description", "Description", width=1.6),
                    Col("status", "Status", width=0.6),
                    Col("client_balance", "Client balance", M),
                    Col("last_movement_on", "Last movement", Kind.DATE, 0.9),
                    Col("age_days", "Days", Kind.INT, 0.5),
                    Col("band", "Age band", width=0.8),
                    Col("proposed_action", "Proposed action", width=2.6),
                ],
                rows,
                {"client_name": "Total", "client_balance": total},
                rows_total=len(dormant) if page.size else None,
            ),
            Section(
                "bands",
                "Totals by age band",
                [
                    Col("band", "Age band", width=2.0),
                    Col("count", "Ledgers", Kind.INT),
                    Col("amount", "Amount", M),
                ],
                [
                    {"band": label, "count": n, "amount": amount}
                    for label, (n, amount) in band_totals.items()
                ],
                {"band": "Total", "count": len(dormant), "amount": total},
            ),
        ],
        [
            Figure("total", "Dormant client balances", total),
            Figure("count", "Ledgers", len(dormant), Kind.INT),
        ],
        landscape=True,
    )


OVERDRAWN_CLIENT_LEDGER = "overdrawn_client_ledger"  # the ledger's exception kind


def breach_register(
    header: Header,
    consistency: Consistency,
    columns: Sequence[MatterColumns],
    infos: Mapping[int, MatterInfo],
    exceptions: Sequence[ExceptionInfo],
    breaches: Sequence[BreachInfo],
    accounts: Sequence[BankAccountInfo],
    as_of: date,
    *,
    reconciliation_days: int,
) -> Report:
    overdrawn: list[Row] = []
    for c in columns:
        if c.client < 0:
            info = _info(infos, c.matter_id)
            overdrawn.append(
                {
                    "client_name": info.client_name,
                    "matter_ref": info.reference,
                    "client_balance": c.client,
                    "shortfall": -c.client,
                    "last_movement_on": c.last_movement_on,
                    "status": "posted",
                }
            )
    # A payment that would overdraw a client ledger is held by the ledger until a cashier
    # resolves it, so the books do not show the ledger overdrawn; the money has left the bank
    # all the same (SRA 5.3), so the ledger is listed here with the shortfall the ledger named.
    posted = {c.matter_id: c for c in columns}
    listed = {c.matter_id for c in columns if c.client < 0}
    held_shortfall = 0
    for e in exceptions:
        if (
            e.kind == OVERDRAWN_CLIENT_LEDGER
            and e.resolution is None
            and e.matter_id is not None
            and e.matter_id not in listed
            and e.amount
        ):
            listed.add(e.matter_id)
            held_shortfall += e.amount
            info = _info(infos, e.matter_id)
            books = posted.get(e.matter_id)
            overdrawn.append(
                {
                    "client_name": info.client_name,
                    "matter_ref": info.reference,
                    "client_balance": books.client if books else 0,
                    "shortfall": e.amount,
                    "last_movement_on": books.last_movement_on if books else None,
                    "status": "held: not posted until resolved (cashroom exceptions)",
                }
            )
    shortfall = sum(-c.client for c in columns if c.client < 0) + held_shortfall
    exception_rows: list[Row] = []
    unresolved = 0
    for e in exceptions:
        status = e.resolution or "unresolved"
        unresolved += e.resolution is None
        ref = _info(infos, e.matter_id).reference if e.matter_id is not None else ""
        exception_rows.append(
            {
                "raised_on": e.raised_on,
                "kind": e.kind,
                "matter_ref": ref,
                "amount": e.amount,
                "detail": e.detail,
                "status": status,
                "resolved_by": e.resolved_by,
                "reason": e.resolution_reason,
                "unresolved": e.resolution is None,
            }
        )
    late: list[Row] = []
    for account in accounts:
        if account.kind != "client":
            continue
        last = account.last_reconciled_on
        days = (as_of - last).days if last else None
        if last is None or (days is not None and days > reconciliation_days):
            late.append(
                {
                    "bank_account": f"{account.name} ({account.bank_account_id})",
                    "last_reconciled_on": last,
                    "days_since": days,
                    "detail": "never reconciled"
                    if last is None
                    else f"{days} days since the last signed reconciliation",
                }
            )
    raised = [
        {
            "detected_on": b.detected_on,
            "kind": b.kind,
            "bank_account": str(b.bank_account_id),
            "detail": b.detail,
            "last_reconciled_on": b.last_reconciled_on,
        }
        for b in breaches
    ]
    return make_report(
        header,
        consistency,
        "breach-register",
        "Breach register",
        as_at(as_of),
        {"as_of": as_of, "reconciliation_days": reconciliation_days},
        [
            Section(
                "overdrawn",
                "Overdrawn client ledgers",
                [
                    Col("client_name", "Client", width=1.6),
                    Col("matter_ref", "Matter", width=1.2),
                    Col("client_balance", "Client balance", M),
                    Col("shortfall", "Shortfall", M),
                    Col("last_movement_on", "Last movement", Kind.DATE),
                    Col("status", "Payment", width=1.6),
                ],
                overdrawn,
            ),
            Section(
                "exceptions",
                "Ledger exceptions",
                [
                    Col("raised_on", "Raised", Kind.DATE, 0.8),
                    Col("kind", "Kind", width=1.3),
                    Col("matter_ref", "Matter", width=0.9),
                    Col("amount", "Amount", M, 0.8),
                    Col("detail", "Detail", width=2.2),
                    Col("status", "Status", width=1.1),
                    Col("resolved_by", "By", width=0.7),
                    Col("reason", "Reason", width=1.4),
                ],
                exception_rows,
                highlight_key="unresolved",
                note="Unresolved exceptions are highlighted.",
            ),
            Section(
                "late_reconciliations",
                f"Client accounts not reconciled within {reconciliation_days} days",
                [
                    Col("bank_account", "Bank account", width=2.0),
                    Col("last_reconciled_on", "Last reconciled", Kind.DATE),
                    Col("days_since", "Days", Kind.INT, 0.5),
                    Col("detail", "Detail", width=2.0),
                ],
                late,
            ),
            Section(
                "reconciliation_breaches",
                "Breaches found by reconciliation",
                [
                    Col("detected_on", "Detected", Kind.DATE),
                    Col("kind", "Kind", width=1.3),
                    Col("bank_account", "Bank account", width=0.8),
                    Col("detail", "Detail", width=2.6),
                    Col("last_reconciled_on", "Last reconciled", Kind.DATE),
                ],
                raised,
            ),
        ],
        [
            Figure("overdrawn_count", "Overdrawn client ledgers", len(overdrawn), Kind.INT),
            Figure("shortfall", "Total shortfall", shortfall),
            Figure("unresolved_exceptions", "Unresolved exceptions", unresolved, Kind.INT),
            Figure("late_reconciliations", "Late reconciliations", len(late), Kind.INT),
            Figure(
                "reconciliation_breaches",
                "Breaches raised by reconciliation",
                len(raised),
                Kind.INT,
            ),
        ],
        landscape=True,
    )

"""Aged debtors (§3.7), aged creditors (§3.8), unbilled disbursements and WIP (§3.9).

Ageing is open-item: every line on debtors control (purchase ledger control) belongs to an item:
the bill (supplier invoice) it was posted for, a payment or reversal going to the bill it settles
or reverses. Credits that name no bill (a credit note, a payment not yet linked to its bill) are
listed as unallocated. Every item is counted, so the total ties to the control nominal exactly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from cashroom_reporting.domain.ageing import BUCKETS, age_in_days, bucket_for
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
    make_report,
)
from cashroom_reporting.domain.facts import (
    BillInfo,
    Header,
    InvoiceInfo,
    MatterInfo,
    OpenItem,
    UnbilledWork,
    unknown_matter,
)
from cashroom_reporting.domain.financial import balance_of
from cashroom_reporting.domain.postings import Movement

M = Kind.MONEY
BUCKET_COLUMNS = [Col(b.key, b.label, M, 0.8) for b in BUCKETS]


def _item_id(key: str, prefix: str) -> int | None:
    head, _, tail = key.partition(":")
    return int(tail) if head == prefix and tail.isdigit() else None


def _describe_source(key: str) -> str:
    if key.startswith("source:"):
        _, system, object_type, object_id = [*key.split(":", 3), "", "", ""][:4]
        return f"{system} {object_type} {object_id}"
    return key


def _count(rows: Sequence[object] | int, page: Page) -> int | None:
    """A section's row count when its rows are one page of it."""
    if not page.size:
        return None
    return rows if isinstance(rows, int) else len(rows)


def _bucket_cells(amount: int, days: int) -> dict[str, Cell]:
    bucket = bucket_for(days)
    return {b.key: (amount if b is bucket else None) for b in BUCKETS}


@dataclass(frozen=True, slots=True)
class AgedItems:
    """An aged listing's open items as of the report date, read in the database: the requested
    page of each section, oldest first: ``listed`` (owed: a bill, a supplier invoice, with a
    balance owing) and ``unallocated`` (credits, payments not matched yet); and over every item,
    the number in each section and the amount outstanding in each age bucket (by index in
    ``BUCKETS``)."""

    listed: Sequence[OpenItem]
    unallocated: Sequence[OpenItem]
    listed_count: int
    unallocated_count: int
    by_bucket: Mapping[int, int]

    @property
    def total(self) -> int:
        return sum(self.by_bucket.values())

    @property
    def bucket_totals(self) -> dict[str, int]:
        return {BUCKETS[index].key: amount for index, amount in self.by_bucket.items()}

    @property
    def on_page(self) -> list[OpenItem]:
        return [*self.listed, *self.unallocated]


BUCKET_THRESHOLDS = [b.min_days for b in BUCKETS[1:]]
"""For the database's ``width_bucket(days, thresholds)``: 0 for the first bucket, 1 for days at
or past the second's first day, and so on."""


def aged_debtors(
    header: Header,
    consistency: Consistency,
    chart: Chart,
    aged: AgedItems,
    bills: Mapping[int, BillInfo],
    infos: Mapping[int, MatterInfo],
    nominals: Mapping[str, Movement],
    as_of: date,
    page: Page = EVERY_ROW,
) -> Report:
    """Totals over every open item; rows for the page ``aged`` holds (``bills`` and
    ``infos`` need only cover the items on it)."""
    total, bucket_totals = aged.total, aged.bucket_totals

    def row(item: OpenItem) -> Row:
        outstanding = item.movement.net
        bill_id = _item_id(item.item_key, "bill")
        bill = bills.get(bill_id) if bill_id is not None else None
        dated = bill.issued_on if bill else item.dated or item.opened_on
        days = age_in_days(dated, as_of)
        info = infos.get(item.matter_id) if item.matter_id is not None else None
        info = info or (unknown_matter(item.matter_id) if item.matter_id is not None else None)
        return {
            "client_name": info.client_name if info else "",
            "matter_ref": info.reference if info else "",
            "bill_number": bill.bill_number if bill else _describe_source(item.item_key),
            "bill_date": dated,
            "fee_earner": info.fee_earner if info else None,
            "bill_total": item.movement.debit,
            "paid_or_credited": item.movement.credit,
            "outstanding": outstanding,
            "days": days,
            **_bucket_cells(outstanding, days),
        }

    rows = [row(i) for i in aged.listed]
    unallocated = [row(i) for i in aged.unallocated]
    control = balance_of(nominals, chart.codes_with(AccountRole.DEBTORS_CONTROL))
    columns = [
        Col("client_name", "Client", width=1.3),
        Col("matter_ref", "Matter", width=1.0),
        Col("bill_number", "Bill", width=0.9),
        Col("bill_date", "Bill date", Kind.DATE, 0.8),
        Col("fee_earner", "Fee earner", width=0.8),
        Col("bill_total", "Billed", M, 0.8),
        Col("paid_or_credited", "Paid/credited", M, 0.8),
        Col("outstanding", "Outstanding", M, 0.8),
        *BUCKET_COLUMNS,
    ]
    totals: Row = {"client_name": "Totals", "outstanding": total, **bucket_totals}
    return make_report(
        header,
        consistency,
        "aged-debtors",
        "Aged debtors",
        as_at(as_of),
        {"as_of": as_of},
        [
            Section(
                "bills",
                "Outstanding bills",
                columns,
                rows,
                rows_total=_count(aged.listed_count, page),
            ),
            Section(
                "unallocated",
                "Unallocated credits and items without a bill",
                columns,
                unallocated,
                note="Credit notes, and payments not yet matched to a bill, reduce what is owed.",
                rows_total=_count(aged.unallocated_count, page),
            ),
            Section("totals", "Totals by age", columns, [], totals),
        ],
        [Figure("total", "Total outstanding", total)]
        + [Figure(b.key, b.label, bucket_totals.get(b.key, 0)) for b in BUCKETS],
        [
            Check(
                "Aged debtors total equals debtors control (I-18)",
                "aged debtors",
                total,
                "debtors control",
                control,
            )
        ],
        landscape=True,
    )


def aged_creditors(
    header: Header,
    consistency: Consistency,
    chart: Chart,
    aged: AgedItems,
    invoices: Mapping[int, InvoiceInfo],
    infos: Mapping[int, MatterInfo],
    nominals: Mapping[str, Movement],
    as_of: date,
    page: Page = EVERY_ROW,
) -> Report:
    """Totals over every open item; rows for the page ``aged`` holds (``invoices`` and
    ``infos`` need only cover the items on it)."""
    total, bucket_totals = aged.total, aged.bucket_totals  # owed to the suppliers

    def row(item: OpenItem) -> Row:
        outstanding = -item.movement.net
        invoice_id = _item_id(item.item_key, "invoice")
        invoice = invoices.get(invoice_id) if invoice_id is not None else None
        dated = invoice.invoiced_on if invoice else item.dated or item.opened_on
        days = age_in_days(dated, as_of)
        matter_id = invoice.matter_id if invoice else item.matter_id
        info = (
            (infos.get(matter_id) or unknown_matter(matter_id)) if matter_id is not None else None
        )
        return {
            "supplier": (invoice.supplier or "(no supplier named in Clio)")
            if invoice
            else "(supplier not yet synced)",
            "invoice": str(invoice.invoice_id) if invoice else _describe_source(item.item_key),
            "invoice_date": dated,
            "matter_ref": info.reference if info else "",
            "net": invoice.net if invoice else None,
            "vat": invoice.vat if invoice else None,
            "gross": item.movement.credit,
            "paid": item.movement.debit,
            "outstanding": outstanding,
            "days": days,
            **_bucket_cells(outstanding, days),
        }

    rows = [row(i) for i in aged.listed]
    unallocated = [row(i) for i in aged.unallocated]
    control = -balance_of(nominals, chart.codes_with(AccountRole.PURCHASE_LEDGER_CONTROL))
    columns = [
        Col("supplier", "Supplier", width=1.3),
        Col("invoice", "Invoice", width=0.8),
        Col("invoice_date", "Date", Kind.DATE, 0.8),
        Col("matter_ref", "Matter", width=0.9),
        Col("net", "Net", M, 0.7),
        Col("vat", "VAT", M, 0.6),
        Col("gross", "Gross", M, 0.7),
        Col("paid", "Paid", M, 0.7),
        Col("outstanding", "Outstanding", M, 0.8),
        *BUCKET_COLUMNS,
    ]
    return make_report(
        header,
        consistency,
        "aged-creditors",
        "Aged creditors",
        as_at(as_of),
        {"as_of": as_of},
        [
            Section(
                "invoices",
                "Unpaid supplier invoices",
                columns,
                rows,
                rows_total=_count(aged.listed_count, page),
            ),
            Section(
                "unallocated",
                "Unallocated payments and items without an invoice",
                columns,
                unallocated,
                rows_total=_count(aged.unallocated_count, page),
            ),
            Section(
                "totals",
                "Totals by age",
                columns,
                [],
                {"supplier": "Totals", "outstanding": total, **bucket_totals},
            ),
        ],
        [Figure("total", "Total owed to suppliers", total)]
        + [Figure(b.key, b.label, bucket_totals.get(b.key, 0)) for b in BUCKETS],
        [
            Check(
                "Aged creditors total equals purchase ledger control (I-18)",
                "aged creditors",
                total,
                "purchase ledger control",
                control,
            )
        ],
        landscape=True,
    )


def unbilled_matters(
    unbilled_disbursements: Mapping[int, int], work_matters: Collection[int]
) -> list[int]:
    """The matters the unbilled listing shows, in order: unbilled Clio work or disbursements."""
    return sorted(set(work_matters) | {m for m, v in unbilled_disbursements.items() if v})


COLUMNS_BY_KIND = {
    "time": "unbilled_time",
    "recoverable_expense": "unbilled_expenses",
    "disbursement": "disbursements_in_clio",
}
"""The unbilled listing's column for each kind of Clio work (any other kind: expenses)."""


def unbilled(
    header: Header,
    consistency: Consistency,
    chart: Chart,
    unbilled_disbursements: Mapping[int, int],
    work: Sequence[UnbilledWork],
    work_matters: Collection[int],
    work_by_kind: Mapping[str, int],
    last_bills: Mapping[int, date],
    infos: Mapping[int, MatterInfo],
    nominals: Mapping[str, Movement],
    as_of: date,
    page: Page = EVERY_ROW,
) -> Report:
    """Totals over every matter (``work_by_kind``: Clio's unbilled work per kind; ``work_matters``
    the matters with some); rows built for ``page``: ``work``, ``infos`` and ``last_bills``
    need only cover the matters on it."""
    per_matter: dict[int, dict[str, Cell]] = {}
    listed = unbilled_matters(unbilled_disbursements, work_matters)
    on_page = set(page.of(listed))

    def entry(matter_id: int) -> dict[str, Cell]:
        if matter_id not in per_matter:
            info = infos.get(matter_id) or unknown_matter(matter_id)
            per_matter[matter_id] = {
                "client_name": info.client_name,
                "matter_ref": info.reference,
                "fee_earner": info.fee_earner,
                "unbilled_time": 0,
                "unbilled_expenses": 0,
                "disbursements_in_clio": 0,
                "unbilled_disbursements": 0,
                "oldest_entry": None,
                "last_bill_on": last_bills.get(matter_id),
            }
        return per_matter[matter_id]

    totals: dict[str, int] = defaultdict(int)
    for kind, value in work_by_kind.items():
        totals[COLUMNS_BY_KIND.get(kind, "unbilled_expenses")] += value
    for w in work:
        column = COLUMNS_BY_KIND.get(w.kind, "unbilled_expenses")
        if w.matter_id not in on_page:
            continue
        row = entry(w.matter_id)
        current = row[column]
        row[column] = (current if isinstance(current, int) else 0) + w.value
        oldest = row["oldest_entry"]
        if not isinstance(oldest, date) or w.oldest < oldest:
            row["oldest_entry"] = w.oldest
        if w.fee_earner and not row["fee_earner"]:
            row["fee_earner"] = w.fee_earner
    for matter_id, amount in unbilled_disbursements.items():
        totals["unbilled_disbursements"] += amount
        if amount and matter_id in on_page:
            entry(matter_id)["unbilled_disbursements"] = amount
    rows: list[Row] = [per_matter[m] for m in sorted(per_matter)]
    nominal = balance_of(nominals, chart.codes_with(AccountRole.UNBILLED_DISBURSEMENTS))
    wip = totals["unbilled_time"] + totals["unbilled_expenses"]
    return make_report(
        header,
        consistency,
        "unbilled",
        "Unbilled disbursements and work in progress",
        as_at(as_of),
        {"as_of": as_of},
        [
            Section(
                "matters",
                "Unbilled by matter",
                [
                    Col("client_name", "Client", width=1.4),
                    Col("matter_ref", "Matter", width=1.0),
                    Col("fee_earner", "Fee earner", width=0.9),
                    Col("unbilled_time", "Time (WIP)", M),
                    Col("unbilled_expenses", "Recoverable expenses", M),
                    Col("unbilled_disbursements", "Disbursements (ledger)", M),
                    Col("disbursements_in_clio", "Disbursements (Clio)", M),
                    Col("oldest_entry", "Oldest entry", Kind.DATE, 0.8),
                    Col("last_bill_on", "Last bill", Kind.DATE, 0.8),
                ],
                rows,
                {"client_name": "Totals", **totals},
                rows_total=_count(listed, page),
                note="Time and expenses: Clio entries recorded by the report date and not billed now. "
                "Disbursements (ledger): the office side on the unbilled disbursements nominal.",
            )
        ],
        [
            Figure("wip_total", "Work in progress (time and expenses)", wip),
            Figure(
                "unbilled_disbursements", "Unbilled disbursements", totals["unbilled_disbursements"]
            ),
        ],
        [
            Check(
                "Unbilled disbursements equal the unbilled disbursements nominal (I-7)",
                "sum over matters",
                totals["unbilled_disbursements"],
                "nominal",
                nominal,
            )
        ],
        landscape=True,
    )

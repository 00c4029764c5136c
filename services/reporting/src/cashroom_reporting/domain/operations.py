"""VAT return (§3.10), sync summary (I-21) and audit trail (§3.13)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from cashroom_reporting.domain.chart import AccountRole, Chart
from cashroom_reporting.domain.document import (
    Check,
    Col,
    Consistency,
    Figure,
    Kind,
    Report,
    Row,
    Section,
    as_at,
    between,
    make_report,
)
from cashroom_reporting.domain.facts import AuditRow, Header, SyncCompared, SyncRow
from cashroom_reporting.domain.financial import balance_of
from cashroom_reporting.domain.postings import Movement
from cashroom_reporting.domain.vat import (
    Scheme,
    SchemeChoice,
    TagTotals,
    VatTag,
    irish_vat3,
    uk_return,
)

M = Kind.MONEY

_OUTSIDE = "none (outside the scope of VAT)"
TAG_BOXES: Mapping[Scheme, Mapping[str, str]] = {
    Scheme.UK: {
        VatTag.OUTPUT_VAT: "box 1",
        VatTag.ACQUISITION_VAT: "box 2",
        VatTag.INPUT_VAT: "box 4",
        VatTag.SALES_STANDARD: "box 6",
        VatTag.SALES_ZERO_RATED: "box 6",
        VatTag.SALES_EXEMPT: "box 6",
        VatTag.PURCHASES_STANDARD: "box 7",
        VatTag.PURCHASES_ZERO_RATED: "box 7",
        VatTag.PURCHASES_EXEMPT: "box 7",
        VatTag.SALES_EU_GOODS: "boxes 6 and 8",
        VatTag.ACQUISITIONS_EU_GOODS: "boxes 7 and 9",
        VatTag.OUTSIDE_SCOPE: _OUTSIDE,
    },
    Scheme.IE: {
        VatTag.OUTPUT_VAT: "T1",
        VatTag.ACQUISITION_VAT: "T1",
        VatTag.INPUT_VAT: "T2",
        VatTag.SALES_EU_GOODS: "E1",
        VatTag.ACQUISITIONS_EU_GOODS: "E2",
        VatTag.SALES_EU_SERVICES: "ES1",
        VatTag.PURCHASES_EU_SERVICES: "ES2",
        VatTag.OUTSIDE_SCOPE: _OUTSIDE,
    },
}
"""Where each tag's lines go on the scheme's return (as ``uk_return`` and ``irish_vat3`` add
them up): the VAT3 has no boxes for net sales and purchases, the UK return none for EU
services."""


def _box(scheme: Scheme, tag: str) -> str:
    if tag not in set(VatTag):
        return "unclassified: not in any box"
    return TAG_BOXES[scheme].get(tag, f"none on the {scheme.label}")


def vat_return(
    header: Header,
    consistency: Consistency,
    chart: Chart,
    by_tag: Mapping[str, Movement],
    nominals: Mapping[str, Movement],
    start: date,
    end: date,
    choice: SchemeChoice,
) -> Report:
    scheme = choice.scheme
    totals = TagTotals(by_tag)
    unclassified = totals.unclassified()
    output_nominal = -balance_of(nominals, chart.codes_with(AccountRole.VAT_OUTPUT))
    input_nominal = balance_of(nominals, chart.codes_with(AccountRole.VAT_INPUT))
    tag_rows: list[Row] = [
        {
            "vat_code": tag,
            "box": _box(scheme, tag),
            "debit": m.debit,
            "credit": m.credit,
            "net": m.net,
            "unclassified": tag in unclassified,
        }
        for tag, m in sorted(by_tag.items())
    ]
    figures: list[Figure]
    if scheme is Scheme.UK:
        r = uk_return(totals)
        title = "VAT return (UK, 9 boxes)"
        figures = [
            Figure("box1", "Box 1 VAT due on sales and other outputs", r.box1),
            Figure("box2", "Box 2 VAT due on acquisitions from the EU", r.box2),
            Figure("box3", "Box 3 Total VAT due", r.box3),
            Figure("box4", "Box 4 VAT reclaimed on purchases and other inputs", r.box4),
            Figure("box5", f"Box 5 Net VAT to {'pay' if r.box5_payable else 'reclaim'}", r.box5),
            Figure("box6", "Box 6 Total sales excluding VAT (whole units)", r.box6, Kind.INT),
            Figure("box7", "Box 7 Total purchases excluding VAT (whole units)", r.box7, Kind.INT),
            Figure("box8", "Box 8 Supplies of goods to the EU (whole units)", r.box8, Kind.INT),
            Figure(
                "box9", "Box 9 Acquisitions of goods from the EU (whole units)", r.box9, Kind.INT
            ),
            Figure(
                "outside_scope_sales",
                "Outside-scope disbursements billed (excluded)",
                r.outside_scope_sales,
            ),
            Figure(
                "outside_scope_purchases",
                "Outside-scope disbursements paid (excluded)",
                r.outside_scope_purchases,
            ),
        ]
        box1, box4 = r.box1, r.box4
        checks = [
            Check(
                "Box 3 = box 1 + box 2 (I-12)", "box 3", r.box3, "box 1 + box 2", r.box1 + r.box2
            ),
            Check(
                "Box 5 = |box 3 - box 4| (I-12)",
                "box 5",
                r.box5,
                "|box 3 - box 4|",
                abs(r.box3 - r.box4),
            ),
        ]
    else:
        v = irish_vat3(totals)
        title = "VAT return (Ireland, VAT3)"
        figures = [
            Figure("t1", "T1 VAT on sales", v.t1),
            Figure("t2", "T2 VAT on purchases", v.t2),
            Figure("t3", "T3 Net payable", v.t3),
            Figure("t4", "T4 Net repayable", v.t4),
            Figure("e1", "E1 Goods to other EU states", v.e1),
            Figure("e2", "E2 Goods from other EU states", v.e2),
            Figure("es1", "ES1 Services to other EU states", v.es1),
            Figure("es2", "ES2 Services from other EU states", v.es2),
            Figure(
                "outside_scope_sales",
                "Outside-scope outlays billed (excluded)",
                v.outside_scope_sales,
            ),
            Figure(
                "outside_scope_purchases",
                "Outside-scope outlays paid (excluded)",
                v.outside_scope_purchases,
            ),
        ]
        box1 = totals.credit_net(VatTag.OUTPUT_VAT)
        box4 = v.t2
        checks = [Check("T3 - T4 = T1 - T2", "T3 - T4", v.t3 - v.t4, "T1 - T2", v.t1 - v.t2)]
    checks += [
        Check(
            "Output VAT tagged equals the VAT output nominal's movement",
            "tagged",
            box1,
            "nominal",
            output_nominal,
        ),
        Check(
            "Input VAT tagged equals the VAT input nominal's movement",
            "tagged",
            box4,
            "nominal",
            input_nominal,
        ),
        Check(
            "Every VAT tag is classified",
            "unknown tags",
            len(unclassified),
            "expected",
            0,
        ),
    ]
    return make_report(
        header,
        consistency,
        "vat-return",
        title,
        between(start, end),
        {"from": start, "to": end, "scheme": scheme.value, "scheme_basis": choice.basis},
        [
            Section(
                "tags",
                "Ledger lines by VAT tag in the period",
                [
                    Col("vat_code", "VAT tag", width=1.4),
                    Col("box", "Box", width=1.6),
                    Col("debit", "Debits", M),
                    Col("credit", "Credits", M),
                    Col("net", "Debits - credits", M),
                ],
                tag_rows,
                highlight_key="unclassified",
            )
        ],
        figures,
        checks,
        notes=[
            f"Scheme: the {scheme.label}, {choice.basis}.",
            *([choice.note] if choice.note else []),
            "Disbursements paid as the client's agent are outside the scope of VAT: "
            "they are in no box.",
        ],
    )


def sync_summary(
    header: Header,
    consistency: Consistency,
    rows: Sequence[SyncRow],
    today: date,
    compared: SyncCompared | None = None,
) -> Report:
    """What was synced from Clio per object type and what the ledger made of it; and, after a
    completed sync, the same compared with what Clio holds (``compared``)."""
    out: list[Row] = []
    totals = {"records": 0, "posted": 0, "held": 0, "rejected": 0, "deleted": 0}
    for r in rows:
        awaiting = r.records - r.posted - r.held - r.rejected
        out.append(
            {
                "object_type": r.object_type,
                "currency": r.currency,
                "records": r.records,
                "versions": r.versions,
                "amount": r.amount if r.currency else None,
                "posted": r.posted,
                "flagged": r.held,
                "rejected": r.rejected,
                "awaiting_ledger": awaiting,
                "deleted": r.deleted,
                "last_synced_at": r.last_synced_at.isoformat() if r.last_synced_at else None,
            }
        )
        for key in totals:
            totals[key] += int(getattr(r, key))
    last = max((r.last_synced_at for r in rows if r.last_synced_at), default=None)
    return make_report(
        header,
        consistency,
        "sync-summary",
        "Clio sync summary",
        as_at(today),
        {},
        [
            Section(
                "object_types",
                "Records synced from Clio, by object type",
                [
                    Col("object_type", "Clio object", width=1.3),
                    Col("currency", "Cur.", width=0.4),
                    Col("records", "Records", Kind.INT, 0.6),
                    Col("versions", "Versions", Kind.INT, 0.6),
                    Col("amount", "Money total", M),
                    Col("posted", "Posted", Kind.INT, 0.6),
                    Col("flagged", "Flagged", Kind.INT, 0.6),
                    Col("rejected", "Rejected", Kind.INT, 0.6),
                    Col("awaiting_ledger", "Awaiting", Kind.INT, 0.6),
                    Col("deleted", "Deleted", Kind.INT, 0.6),
                    Col("last_synced_at", "Last synced", width=1.6),
                ],
                out,
                note="Money totals are what each record's latest version is worth (voided bills and "
                "reversed payments count nothing).",
            ),
            _compared_with_clio(compared),
        ],
        [
            Figure("records", "Records synced", totals["records"], Kind.INT),
            Figure("posted", "Posted by the ledger", totals["posted"], Kind.INT),
            Figure("flagged", "Flagged for review", totals["held"], Kind.INT),
            Figure("rejected", "Rejected", totals["rejected"], Kind.INT),
            Figure("deleted", "Deleted in Clio", totals["deleted"], Kind.INT),
            Figure("last_synced_at", "Last sync", last.isoformat() if last else None, Kind.TEXT),
            *_comparison_figures(compared),
        ],
        _comparison_checks(compared, header.currency),
        landscape=True,
    )


def _compared_with_clio(compared: SyncCompared | None) -> Section:
    rows: list[Row] = [
        {
            "object_type": c.object_type,
            "currency": c.currency,
            "in_clio": c.in_clio,
            "deleted_in_clio": c.deleted_in_clio,
            "skipped": c.skipped,
            "awaiting_review": c.awaiting_review,
            "published": c.published + c.published_deleted,
            "received": c.received + c.received_deleted,
            "record_difference": c.record_difference,
            "published_amount": c.published_amount if c.currency else None,
            "received_amount": c.received_amount if c.currency else None,
            "amount_difference": c.amount_difference if c.currency else None,
            "differs": not c.agrees,
        }
        for c in (compared.rows if compared else ())
    ]
    if compared is None:
        note = "No sync has completed yet: the comparison with what Clio holds follows the first."
    else:
        note = (
            f"At the end of the {compared.kind} sync {compared.sync_id} "
            f"({compared.finished_at.isoformat()}). In Clio: records present when the connector "
            "last read them (gone: read before, deleted in Clio since); skipped by the sync "
            "settings or awaiting a cashier's review are not imported. Imported: records the "
            "connector sent (a deletion included); received: what these reports had taken in "
            "when the sync ended. Any difference is an event lost or not yet applied."
        )
    return Section(
        "compared_with_clio",
        "Compared with what Clio holds",
        [
            Col("object_type", "Clio object", width=1.3),
            Col("currency", "Cur.", width=0.4),
            Col("in_clio", "In Clio", Kind.INT, 0.6),
            Col("deleted_in_clio", "Gone", Kind.INT, 0.5),
            Col("skipped", "Skipped", Kind.INT, 0.6),
            Col("awaiting_review", "Review", Kind.INT, 0.6),
            Col("published", "Imported", Kind.INT, 0.6),
            Col("received", "Received", Kind.INT, 0.6),
            Col("record_difference", "Diff.", Kind.INT, 0.5),
            Col("published_amount", "Money imported", M),
            Col("received_amount", "Money received", M),
            Col("amount_difference", "Money diff.", M),
            Col("differs", "Differs", Kind.BOOL, 0.5),
        ],
        rows,
        note=note,
        highlight_key="differs",
    )


def _comparison_figures(compared: SyncCompared | None) -> list[Figure]:
    if compared is None:
        return []
    return [
        Figure("compared_sync", "Compared at the end of sync", str(compared.sync_id), Kind.TEXT),
        Figure("compared_at", "Compared with Clio at", compared.finished_at.isoformat(), Kind.TEXT),
        Figure(
            "records_in_clio", "Records in Clio", sum(c.in_clio for c in compared.rows), Kind.INT
        ),
        Figure(
            "differences",
            "Object types that differ from Clio",
            sum(not c.agrees for c in compared.rows),
            Kind.INT,
        ),
    ]


def _comparison_checks(compared: SyncCompared | None, currency: str) -> list[Check]:
    """Money received equals money imported, in the report's currency."""
    if compared is None:
        return []
    rows = [c for c in compared.rows if c.currency == currency]
    return [
        Check(
            "Money received = money imported from Clio",
            "received",
            sum(c.received_amount for c in rows),
            "imported",
            sum(c.published_amount for c in rows),
        )
    ]


def audit_trail(
    header: Header,
    consistency: Consistency,
    rows: Sequence[AuditRow],
    start: date,
    end: date,
    *,
    limit: int,
    offset: int,
    more: bool,
) -> Report:
    out: list[Row] = [
        {
            "occurred_at": r.occurred_at.isoformat(),
            "actor": r.actor,
            "action": r.action,
            "entity": f"{r.entity_type} {r.entity_id}",
            "summary": r.summary,
            "reason": r.reason,
            "source_ref": r.source_ref,
            "event_id": r.event_id,
        }
        for r in rows
    ]
    return make_report(
        header,
        consistency,
        "audit-trail",
        "Audit trail",
        between(start, end),
        {"from": start, "to": end, "limit": limit, "offset": offset, "more": more},
        [
            Section(
                "entries",
                "Changes, oldest first",
                [
                    Col("occurred_at", "When (UTC)", width=1.5),
                    Col("actor", "Who", width=0.9),
                    Col("action", "Action", width=0.6),
                    Col("entity", "What", width=1.6),
                    Col("summary", "Summary", width=2.6),
                    Col("reason", "Reason", width=1.4),
                    Col("source_ref", "Source", width=1.4),
                ],
                out,
                note="More entries follow: ask for the next page with offset." if more else None,
            )
        ],
        [Figure("entries", "Entries on this page", len(out), Kind.INT)],
        landscape=True,
    )

"""The audit trail (§3.13, I-22): one line per event, saying who or what changed what, when, and
why (the reason is kept for reversals, voids, unlocks, resolutions and manual entries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cashroom_contracts.envelope import Envelope, EventPayload
from cashroom_contracts.events import clio, ledger, reconciliation
from cashroom_contracts.events.common import ClioSource
from cashroom_contracts.money import Money

CLIO_SYNC = "Clio sync"
LEDGER = "ledger"
RECONCILIATION = "reconciliation"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    occurred_at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    summary: str
    reason: str | None = None
    source_ref: str | None = None


def _source_ref(source: ledger.PostingSource | None) -> str | None:
    if source is None:
        return None
    version = f" version {source.version}" if source.version else ""
    return f"{source.system} {source.object_type} {source.object_id}{version}"


def _clio_ref(source: ClioSource) -> str:
    return f"Clio {source.object_type} {source.object_id} version {source.version}"


def _actor_for(source: ledger.PostingSource, entered_by: str | None) -> str:
    if entered_by:
        return entered_by
    return CLIO_SYNC if source.system == "clio" else source.system


def _journal_total(journal: ledger.JournalPosted) -> str:
    totals: dict[str, int] = {}
    for line in journal.lines:
        currency = line.debit.currency
        totals[currency] = totals.get(currency, 0) + line.debit.amount_minor
    return ", ".join(str(Money(amount_minor=v, currency=c)) for c, v in sorted(totals.items()))


def audit_entry(event: Envelope[EventPayload]) -> AuditEntry:
    data = event.data
    at = event.time
    match data:
        case ledger.JournalPosted():
            reversal = data.reverses_journal_id is not None
            summary = f"{data.kind}: {data.narrative} ({_journal_total(data)})"
            if reversal:
                summary += f"; reverses journal {data.reverses_journal_id}"
            return AuditEntry(
                at,
                _actor_for(data.source, data.entered_by),
                "reverse" if reversal else "post",
                "journal",
                str(data.journal_id),
                summary,
                data.reason,
                _source_ref(data.source),
            )
        case ledger.PostingHeld() | ledger.PostingRejected():
            action = "hold" if isinstance(data, ledger.PostingHeld) else "reject"
            return AuditEntry(
                at,
                LEDGER,
                action,
                data.source.object_type,
                data.source.object_id,
                f"{action} ({data.reason_code})",
                data.reason,
                _source_ref(data.source),
            )
        case ledger.PostingApplied():
            return AuditEntry(
                at,
                LEDGER,
                "apply",
                data.source.object_type,
                data.source.object_id,
                f"posted as {len(data.journal_ids)} journal(s)",
                None,
                _source_ref(data.source),
            )
        case ledger.ExceptionRaised():
            return AuditEntry(
                at,
                LEDGER,
                "raise",
                "exception",
                str(data.exception_id),
                f"{data.kind.value}: {data.detail}",
                None,
                _source_ref(data.source),
            )
        case ledger.ExceptionResolved():
            return AuditEntry(
                at,
                data.resolved_by,
                "resolve",
                "exception",
                str(data.exception_id),
                f"{data.kind.value} resolved: {data.resolution.value}",
                data.reason,
            )
        case ledger.PeriodLocked() | ledger.PeriodUnlocked():
            locked = isinstance(data, ledger.PeriodLocked)
            scope = f"bank account {data.bank_account_id}" if data.bank_account_id else "all"
            through = data.locked_through.isoformat() if data.locked_through else "nothing"
            return AuditEntry(
                at,
                data.by,
                "lock" if locked else "unlock",
                "period",
                scope,
                f"{'locked' if locked else 'lock now'} through {through} ({scope})",
                data.reason,
            )
        case reconciliation.StatementImported():
            return AuditEntry(
                at,
                RECONCILIATION,
                "import",
                "statement",
                str(data.statement_id),
                f"{data.file_format} statement for bank account {data.bank_account_id}, "
                f"{data.period_start} to {data.period_end}: {data.lines_new} new lines",
            )
        case reconciliation.ReconciliationSigned():
            return AuditEntry(
                at,
                data.signed_by,
                "reconcile",
                "reconciliation",
                str(data.reconciliation_id),
                f"bank account {data.bank_account_id} reconciled as of {data.as_of}: "
                f"statement {data.statement_balance}, cashbook {data.cashbook_balance}",
            )
        case reconciliation.BreachRaised():
            return AuditEntry(
                at,
                RECONCILIATION,
                "raise",
                "breach",
                str(data.breach_id),
                f"{data.kind.value}: {data.detail}",
            )
        case clio.SyncCompleted():
            held = sum(h.in_clio for h in data.holdings)
            return AuditEntry(
                at,
                event.source,
                "complete",
                "sync",
                str(data.sync_id),
                f"{data.kind} sync completed: {held} records in Clio",
            )
        case clio.ClioEvent():
            return AuditEntry(
                at,
                CLIO_SYNC,
                _clio_action(data),
                data.source.object_type,
                str(data.source.object_id),
                event.type,
                "voided in Clio" if isinstance(data, clio.BillVoided) else None,
                _clio_ref(data.source),
            )
        case _:
            return AuditEntry(at, event.source, "record", "event", str(event.id), event.type)


def _clio_action(data: clio.ClioEvent) -> str:
    match data:
        case clio.BillApproved():
            return "approve"
        case clio.BillChanged():
            return "update"
        case clio.BillVoided():
            return "void"
        case clio.BillPaymentReversed():
            return "reverse"
        case clio.RecordDeletedInClio():
            return "delete"
        case _ if data.event_type.endswith(".upserted"):
            return "upsert"
        case _:
            return "create"

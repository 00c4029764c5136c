"""The JSON the API answers with. Money is ``{"amount_minor": int, "currency": "EUR"}``, dates
ISO; lists of items sit under names a table printer shows as columns."""

from __future__ import annotations

from typing import Any

from cashroom_contracts.money import Money
from cashroom_reconciliation.db.repository import StoredEntry, StoredMatch
from cashroom_reconciliation.domain import CashbookEntry, StatementLine
from cashroom_reconciliation.handlers.matching import AutoMatchResult
from cashroom_reconciliation.handlers.reconciling import ReconciliationView
from cashroom_reconciliation.handlers.statements import ImportResult, break_json


def money_json(amount: Money | None) -> dict[str, Any] | None:
    return (
        None
        if amount is None
        else {"amount_minor": amount.amount_minor, "currency": amount.currency}
    )


def line_json(line: StatementLine) -> dict[str, Any]:
    return {
        "bank_id": line.bank_id,
        "booking_date": line.booking_date.isoformat(),
        "value_date": line.value_date.isoformat(),
        "amount": money_json(line.amount),
        "description": line.description,
        "reference": line.reference,
        "counterparty": line.counterparty,
        "bank_id_source": line.bank_id_source.value,
    }


def entry_json(entry: CashbookEntry) -> dict[str, Any]:
    return {
        "entry_id": entry.entry_id,
        "posted_on": entry.posted_on.isoformat(),
        "amount": money_json(entry.amount),
        "reference": entry.reference,
        "kind": entry.kind.value,
    }


def stored_entry_json(stored: StoredEntry) -> dict[str, Any]:
    return {
        **entry_json(stored.entry),
        "journal_kind": stored.journal_kind,
        "cancelled_by": stored.contra_entry_id,
    }


def import_json(result: ImportResult) -> dict[str, Any]:
    return {
        "statement_id": str(result.statement_id),
        "format": result.file_format.value,
        "lines_new": result.lines_new,
        "lines_already_known": result.lines_already_known,
        "lines_pending": result.lines_pending,
        "period_start": result.period_start.isoformat(),
        "period_end": result.period_end.isoformat(),
        "opening_balance": money_json(result.opening_balance),
        "closing_balance": money_json(result.closing_balance),
        "already_imported": result.already_imported,
        "breaks": [break_json(b) for b in result.breaks],
    }


def auto_match_json(result: AutoMatchResult) -> dict[str, Any]:
    return {
        "matched": result.matched,
        "by_rule": {rule.value: count for rule, count in result.by_rule.items()},
        "lines_unmatched": result.lines_unmatched,
        "entries_unmatched": result.entries_unmatched,
    }


def match_json(stored: StoredMatch) -> dict[str, Any]:
    match = stored.match
    return {
        "match_id": str(stored.match_id),
        "rule": match.rule.value,
        "amount": money_json(match.amount),
        "settled_on": match.settled_on.isoformat(),
        "line_ids": list(match.line_ids),
        "entry_ids": list(match.entry_ids),
        "made_by": stored.made_by,
        "made_at": stored.made_at.isoformat(),
    }


def reconciliation_json(view: ReconciliationView) -> dict[str, Any]:
    figures = view.statement
    receipts = [e for e in figures.outstanding_entries if e.amount.amount_minor > 0]
    payments = [e for e in figures.outstanding_entries if e.amount.amount_minor < 0]
    return {
        "bank_account_id": view.account.bank_account_id,
        "name": view.account.name,
        "account_kind": view.account.kind.value,
        "as_of": figures.as_of.isoformat(),
        "statement_balance": money_json(figures.statement_balance),
        "outstanding_lodgements": money_json(figures.outstanding_lodgements),
        "unpresented_payments": money_json(figures.unpresented_payments),
        "adjusted_bank_balance": money_json(figures.adjusted_bank_balance),
        "cashbook_balance": money_json(figures.cashbook_balance),
        "difference": money_json(figures.difference),
        "client_ledgers_total": money_json(figures.client_ledgers_total),
        "three_way_difference": money_json(figures.three_way_difference),
        "can_sign": figures.can_sign,
        "three_way_unavailable": view.three_way_unavailable,
        "unexplained_total": money_json(
            Money(
                amount_minor=sum(line.amount.amount_minor for line in view.unexplained),
                currency=view.account.currency,
            )
        ),
        "statement": {
            "statement_id": view.read_from.statement_id,
            "period_start": view.read_from.period_start.isoformat(),
            "period_end": view.read_from.period_end.isoformat(),
        },
        "outstanding_lodgement_items": [entry_json(e) for e in receipts],
        "unpresented_payment_items": [entry_json(e) for e in payments],
        "unexplained_items": [line_json(line) for line in view.unexplained],
        "cancelling_bank_items": [
            {"charge": line_json(pair.debit), "replaced_by": line_json(pair.credit)}
            for pair in view.cancelling
        ],
    }

"""Posting rules: one pure function per Clio-derived event, each ``(event, view, allow) -> Decision``.

``allow`` names exception kinds a cashier has already recorded as a breach for this posting, so
the rule lets it through (it is never set by the sync itself).
"""

from __future__ import annotations

from datetime import date

from cashroom_contracts.events.clio import (
    BankTransferMade,
    BillApproved,
    BillChanged,
    BillPaymentReceived,
    BillPaymentReversed,
    BillVoided,
    ClientMoneyPaid,
    ClientMoneyReceived,
    ClioEvent,
    CreditMemoIssued,
    DisbursementPaid,
    PurchaseInvoicePaid,
    PurchaseInvoiceRecorded,
    RecordDeletedInClio,
)
from cashroom_contracts.events.ledger import ExceptionKind
from cashroom_ledger.domain.decisions import Decision, LedgerView, Post
from cashroom_ledger.domain.posting_rules.bills import (
    bill_approved,
    bill_changed,
    bill_voided,
    credit_memo_issued,
)
from cashroom_ledger.domain.posting_rules.client_money import (
    client_money_paid,
    client_money_received,
)
from cashroom_ledger.domain.posting_rules.common import NO_EXCEPTIONS_ALLOWED
from cashroom_ledger.domain.posting_rules.keys import posting_key
from cashroom_ledger.domain.posting_rules.payments import (
    bill_payment_received,
    bill_payment_reversed,
)
from cashroom_ledger.domain.posting_rules.purchases import (
    disbursement_paid,
    purchase_invoice_paid,
    purchase_invoice_recorded,
)
from cashroom_ledger.domain.posting_rules.transfers import bank_transfer_made

POSTING_EVENTS: tuple[type[ClioEvent], ...] = (
    BillApproved,
    BillChanged,
    BillVoided,
    BillPaymentReceived,
    BillPaymentReversed,
    ClientMoneyReceived,
    ClientMoneyPaid,
    BankTransferMade,
    DisbursementPaid,
    PurchaseInvoiceRecorded,
    PurchaseInvoicePaid,
    CreditMemoIssued,
)


def decide(
    event: ClioEvent, view: LedgerView, allow: frozenset[ExceptionKind] = NO_EXCEPTIONS_ALLOWED
) -> Decision:
    """The posting decision for one Clio-derived event."""
    match event:
        case BillApproved():
            return bill_approved(event, view, allow)
        case BillChanged():
            return bill_changed(event, view, allow)
        case BillVoided():
            return bill_voided(event, view, allow)
        case BillPaymentReceived():
            return bill_payment_received(event, view, allow)
        case BillPaymentReversed():
            return bill_payment_reversed(event, view, allow)
        case ClientMoneyReceived():
            return client_money_received(event, view, allow)
        case ClientMoneyPaid():
            return client_money_paid(event, view, allow)
        case BankTransferMade():
            return bank_transfer_made(event, view, allow)
        case DisbursementPaid():
            return disbursement_paid(event, view, allow)
        case PurchaseInvoiceRecorded():
            return purchase_invoice_recorded(event, view, allow)
        case PurchaseInvoicePaid():
            return purchase_invoice_paid(event, view, allow)
        case CreditMemoIssued():
            return credit_memo_issued(event, view, allow)
        case RecordDeletedInClio():
            return record_deleted(event)
        case _:
            raise TypeError(
                f"{type(event).__name__} is reference data or work in progress, not a posting"
            )


def record_deleted(event: RecordDeletedInClio) -> Decision:
    """A record gone from Clio: nothing is posted for it any more. Its live posting is reversed on
    its own dates (Clio says it never happened), so a locked period holds the deletion."""
    return Post(
        journals=(),
        effective_on=date.min,
        reversal_reason=f"Clio {event.source.object_type} {event.source.object_id} was deleted in Clio",
    )


__all__ = [
    "POSTING_EVENTS",
    "bank_transfer_made",
    "bill_approved",
    "bill_changed",
    "bill_payment_received",
    "bill_payment_reversed",
    "bill_voided",
    "client_money_paid",
    "client_money_received",
    "credit_memo_issued",
    "decide",
    "disbursement_paid",
    "posting_key",
    "purchase_invoice_paid",
    "purchase_invoice_recorded",
    "record_deleted",
]

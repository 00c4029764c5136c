"""The posting key of each Clio-derived event: which record's live posting it replaces (I-10).

Keys are the cashier's objects, not Clio's event types, so that every event about one record meets
the same key: a bill's approval, its changes and its void; a payment and its reversal; a Clio
expense entry whether it arrives as a disbursement paid or as a linked outlay.
"""

from __future__ import annotations

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
)
from cashroom_ledger.domain.decisions import PostingKey

BILL = "bill"
BILL_PAYMENT = "bill_payment"
BANK_TRANSACTION = "bank_transaction"
BANK_TRANSFER = "bank_transfer"
EXPENSE_ENTRY = "expense_entry"  # a Clio expense entry: disbursement paid or linked outlay
PURCHASE_INVOICE_PAYMENT = "purchase_invoice_payment"
CREDIT_MEMO = "credit_memo"


def posting_key(event: ClioEvent) -> PostingKey | None:
    """The key a posting event posts under; None for reference data and work in progress."""
    match event:
        case BillApproved() | BillChanged():
            return PostingKey(BILL, str(event.bill.bill_id))
        case BillVoided():
            return PostingKey(BILL, str(event.bill_id))
        case BillPaymentReceived() | BillPaymentReversed():
            return PostingKey(BILL_PAYMENT, str(event.payment_id))
        case ClientMoneyReceived() | ClientMoneyPaid():
            return PostingKey(BANK_TRANSACTION, str(event.transaction_id))
        case BankTransferMade():
            return PostingKey(BANK_TRANSFER, str(event.transfer_id))
        case DisbursementPaid():
            return PostingKey(EXPENSE_ENTRY, str(event.activity_id))
        case PurchaseInvoiceRecorded():
            return PostingKey(EXPENSE_ENTRY, str(event.invoice_id))
        case PurchaseInvoicePaid():
            # One payment record per Clio source record (the payment the cashier marked).
            return PostingKey(
                PURCHASE_INVOICE_PAYMENT, f"{event.source.object_type}-{event.source.object_id}"
            )
        case CreditMemoIssued():
            return PostingKey(CREDIT_MEMO, str(event.credit_memo_id))
        case _:
            return None


def purchase_invoice_key(invoice_id: int) -> PostingKey:
    return PostingKey(EXPENSE_ENTRY, str(invoice_id))

"""What a cashier enters outside Clio posts under the same rules and invariants."""

from ledger_domain_builders import (
    CLIENT_ACCOUNT,
    CR,
    DR,
    MATTER,
    OFFICE_ACCOUNT,
    OFFICE_BANK,
    OFFICE_SIDE,
    PURCHASE_LEDGER,
    RENT,
    UNBILLED,
    VAT_INPUT,
    lines_of,
    money,
    new_ledger,
    on,
    only_journal,
    posted,
)

from cashroom_contracts.events.common import VatTreatment
from cashroom_contracts.events.ledger import ExceptionKind
from cashroom_ledger.domain.decisions import HoldReason, RejectReason
from cashroom_ledger.domain.journals import JournalKind
from cashroom_ledger.domain.manual import (
    BankTransferEntry,
    OfficePaymentEntry,
    SupplierInvoiceEntry,
    SupplierInvoicePaymentEntry,
)
from cashroom_ledger.domain.outcomes import AlreadyApplied, ExceptionRaised, Held, Rejected


def rent(revision: int = 1, net: str = "2000.00", account_code: str = RENT) -> OfficePaymentEntry:
    return OfficePaymentEntry(
        entry_id="rent-feb",
        revision=revision,
        paid_on=on(1),
        bank_account_id=OFFICE_ACCOUNT,
        account_code=account_code,
        net=money(net),
        vat=money("400.00"),
        payee="Landlord Ltd",
        description="Rent, February",
        entered_by="cashier@firm",
    )


def test_an_office_payment_debits_the_nominal_named_and_reclaims_vat() -> None:
    ledger = new_ledger()
    journal = only_journal(ledger.enter(rent()))
    assert journal.kind is JournalKind.OFFICE_PAYMENT
    assert journal.entered_by == "cashier@firm"
    assert journal.source.system == "manual"
    assert lines_of(journal) == {
        (RENT, DR, 200000, None, None, None),
        (VAT_INPUT, DR, 40000, None, None, None),
        (OFFICE_BANK, CR, 240000, None, None, OFFICE_ACCOUNT),
    }


def test_a_corrected_entry_is_one_reversal_and_one_repost() -> None:
    ledger = new_ledger()
    ledger.enter(rent())
    reversal, repost = posted(ledger.enter(rent(revision=2, net="2100.00")))
    assert reversal.reason == "corrected by cashier@firm (revision 2)"
    assert repost.source.version == "2"
    assert ledger.nominal_balance(RENT).amount_minor == 210000
    assert isinstance(ledger.enter(rent(revision=2, net="2100.00"))[0], AlreadyApplied)


def test_a_manual_entry_may_not_write_to_a_sub_ledgers_control_account() -> None:
    ledger = new_ledger()
    (outcome,) = ledger.enter(rent(account_code="2100"))
    assert isinstance(outcome, Rejected)
    assert outcome.reason_code == RejectReason.ACCOUNT_NOT_ALLOWED
    assert "only the posting rules write to the client_money_control account" in outcome.reason
    # A corrected entry is a new revision; the rejected revision is never tried again.
    (unknown,) = ledger.enter(rent(revision=2, account_code="9999"))
    assert isinstance(unknown, Rejected) and unknown.reason_code == RejectReason.UNKNOWN_ACCOUNT
    assert isinstance(ledger.enter(rent(revision=2))[0], AlreadyApplied)
    assert ledger.journals == ()


def test_a_supplier_invoice_for_a_matter_then_its_payment() -> None:
    ledger = new_ledger()
    payment = SupplierInvoicePaymentEntry(
        entry_id="pay-1",
        revision=1,
        invoice_entry_id="inv-1",
        paid_on=on(20),
        bank_account_id=OFFICE_ACCOUNT,
        amount=money("360.00"),
        entered_by="cashier@firm",
    )
    (waiting,) = ledger.enter(payment)
    assert isinstance(waiting, Held)
    assert waiting.reason_code == HoldReason.PURCHASE_INVOICE_NOT_RECORDED

    invoice = SupplierInvoiceEntry(
        entry_id="inv-1",
        revision=1,
        invoiced_on=on(2),
        supplier="Expert Reports Ltd",
        net=money("300.00"),
        vat=money("60.00"),
        vat_treatment=VatTreatment.STANDARD,
        description="Valuation report",
        entered_by="cashier@firm",
        matter_id=MATTER,
    )
    outlay, paid = posted(ledger.enter(invoice))
    assert outlay.kind is JournalKind.LINKED_OUTLAY
    assert lines_of(outlay) == {
        (UNBILLED, DR, 30000, MATTER, OFFICE_SIDE, None),
        (VAT_INPUT, DR, 6000, None, None, None),
        (PURCHASE_LEDGER, CR, 36000, None, None, None),
    }
    assert lines_of(paid) == {
        (PURCHASE_LEDGER, DR, 36000, None, None, None),
        (OFFICE_BANK, CR, 36000, None, None, OFFICE_ACCOUNT),
    }
    assert ledger.nominal_balance(PURCHASE_LEDGER).amount_minor == 0


def test_a_manual_transfer_from_client_money_to_office_without_a_bill_is_referred() -> None:
    ledger = new_ledger()
    entry = BankTransferEntry(
        entry_id="t-1",
        revision=1,
        transferred_on=on(3),
        from_bank_account_id=CLIENT_ACCOUNT,
        to_bank_account_id=OFFICE_ACCOUNT,
        amount=money("50.00"),
        description="costs",
        entered_by="cashier@firm",
        matter_id=MATTER,
    )
    (outcome,) = ledger.enter(entry)
    assert isinstance(outcome, ExceptionRaised)
    assert outcome.record.kind is ExceptionKind.TRANSFER_EXCEEDS_BILL
    assert ledger.journals == ()

"""Short ways to write Clio events and a firm's books in the ledger's domain tests.

Amounts are written as the cashier reads them ("1000.00"), in the firm's currency (GBP unless a
test says otherwise). Every event gets a Clio source and version so it can be replayed or edited.
"""

from __future__ import annotations

from datetime import date

from cashroom_contracts.events.clio import (
    BankAccountUpserted,
    BankTransferMade,
    BillApproved,
    BillChanged,
    BillContent,
    BilledDisbursementLine,
    BillPaymentReceived,
    BillPaymentReversed,
    BillVoided,
    ClientKind,
    ClientMoneyPaid,
    ClientMoneyReceived,
    ClientPaymentPurpose,
    ClientUpserted,
    ClioEvent,
    CreditMemoIssued,
    DisbursementPaid,
    FeeLine,
    MatterStatus,
    MatterUpserted,
    PurchaseInvoicePaid,
    PurchaseInvoiceRecorded,
    RecoverableExpenseLine,
)
from cashroom_contracts.events.common import AccountKind, ClioSource, VatAmount, VatTreatment
from cashroom_contracts.money import Money
from cashroom_ledger.domain.accounts import ChartOfAccounts, england_and_wales_chart
from cashroom_ledger.domain.balances import BalanceKey
from cashroom_ledger.domain.journals import Entry, Journal, Line
from cashroom_ledger.domain.ledger import Ledger
from cashroom_ledger.domain.outcomes import Outcome, Posted

CURRENCY = "GBP"
CLIENT_ID = 1840
MATTER = 42
OTHER_MATTER = 43
OFFICE_ACCOUNT = 7002
CLIENT_ACCOUNT = 7001
SECOND_CLIENT_ACCOUNT = 7003
DAY = date(2026, 2, 1)

# Nominal codes of the England & Wales template, as the tests expect them.
OFFICE_BANK = "1000"
CLIENT_BANK = "1100"
SECOND_CLIENT_BANK = "1101"
DEBTORS = "1200"
UNBILLED = "1210"
PURCHASE_LEDGER = "2000"
CLIENT_MONEY = "2100"
VAT_OUTPUT = "2200"
VAT_INPUT = "2210"
FEES = "4000"
EXPENSE_RECOVERIES = "4100"
CREDIT_NOTES = "4900"
DISCOUNTS = "4910"
SUNDRY = "6900"
RENT = "6100"


def money(amount: str, currency: str = CURRENCY) -> Money:
    return Money.of(amount, currency)


def on(day: int, month: int = 2) -> date:
    return date(2026, month, day)


def source(object_type: str, object_id: int, version: str = "v1") -> ClioSource:
    return ClioSource(object_type=object_type, object_id=object_id, version=version)


def vat(amount: str, rate_basis_points: int = 2000, currency: str = CURRENCY) -> VatAmount:
    return VatAmount(rate_basis_points=rate_basis_points, amount=money(amount, currency))


NO_VAT = VatAmount(rate_basis_points=0, amount=Money.zero(CURRENCY))


# --- reference data -----------------------------------------------------------------------------


def client_upserted(client_id: int = CLIENT_ID, name: str = "Aoife Byrne") -> ClientUpserted:
    return ClientUpserted(
        source=source("Contact", client_id), client_id=client_id, name=name, kind=ClientKind.PERSON
    )


def matter_upserted(
    matter_id: int = MATTER, client_id: int = CLIENT_ID, reference: str | None = None
) -> MatterUpserted:
    return MatterUpserted(
        source=source("Matter", matter_id),
        matter_id=matter_id,
        client_id=client_id,
        reference=reference or f"{matter_id:05d}-Byrne",
        description="Purchase of 12 Main Street",
        status=MatterStatus.OPEN,
        matter_type="Conveyancing",
    )


def bank_account_upserted(
    bank_account_id: int, kind: AccountKind, currency: str = CURRENCY, name: str | None = None
) -> BankAccountUpserted:
    return BankAccountUpserted(
        source=source("BankAccount", bank_account_id),
        bank_account_id=bank_account_id,
        name=name or ("Office Account" if kind is AccountKind.OFFICE else "Client Account"),
        kind=kind,
        currency=currency,
    )


# --- postings -----------------------------------------------------------------------------------


def client_money_received(
    transaction_id: int,
    amount: str,
    *,
    day: date = DAY,
    matter_id: int = MATTER,
    bank_account_id: int = CLIENT_ACCOUNT,
    version: str = "v1",
    currency: str = CURRENCY,
) -> ClientMoneyReceived:
    return ClientMoneyReceived(
        source=source("BankTransaction", transaction_id, version),
        transaction_id=transaction_id,
        matter_id=matter_id,
        bank_account_id=bank_account_id,
        received_on=day,
        amount=money(amount, currency),
        payer="Aoife Byrne",
    )


def client_money_paid(
    transaction_id: int,
    amount: str,
    *,
    day: date = DAY,
    matter_id: int = MATTER,
    bank_account_id: int = CLIENT_ACCOUNT,
    version: str = "v1",
    purpose: ClientPaymentPurpose = ClientPaymentPurpose.DISBURSEMENT,
) -> ClientMoneyPaid:
    return ClientMoneyPaid(
        source=source("BankTransaction", transaction_id, version),
        transaction_id=transaction_id,
        matter_id=matter_id,
        bank_account_id=bank_account_id,
        paid_on=day,
        amount=money(amount),
        purpose=purpose,
        payee="Land Registry",
    )


def fee(net: str, vat_amount: str | None = None, line_id: int = 1) -> FeeLine:
    return FeeLine(
        line_id=line_id,
        description="Professional fees",
        net=money(net),
        discount=money("0"),
        vat=vat(vat_amount) if vat_amount is not None else NO_VAT,
    )


def recharge(net: str, vat_amount: str, line_id: int = 2) -> RecoverableExpenseLine:
    return RecoverableExpenseLine(
        line_id=line_id, description="Photocopying", net=money(net), vat=vat(vat_amount)
    )


def billed_disbursement(
    net: str,
    treatment: VatTreatment = VatTreatment.OUTSIDE_SCOPE,
    vat_amount: str = "0",
    *,
    activity_id: int | None = None,
    line_id: int = 3,
) -> BilledDisbursementLine:
    return BilledDisbursementLine(
        line_id=line_id,
        activity_id=activity_id,
        description="Court fee",
        net=money(net),
        vat_treatment=treatment,
        vat=vat(vat_amount) if treatment is VatTreatment.STANDARD else NO_VAT,
    )


def bill_content(
    bill_id: int,
    *,
    fees: list[FeeLine] | None = None,
    recharges: list[RecoverableExpenseLine] | None = None,
    disbursements: list[BilledDisbursementLine] | None = None,
    day: date = DAY,
    matter_id: int = MATTER,
    client_id: int = CLIENT_ID,
    discount: str = "0",
    total: str | None = None,
    vat_total: str | None = None,
    currency: str = CURRENCY,
) -> BillContent:
    fees = fees or []
    recharges = recharges or []
    disbursements = disbursements or []
    lines: list[FeeLine | RecoverableExpenseLine | BilledDisbursementLine] = [
        *fees,
        *recharges,
        *disbursements,
    ]
    vat_minor = sum(line.vat.amount.amount_minor for line in lines)
    net_minor = sum(line.net.amount_minor for line in lines)
    return BillContent(
        bill_id=bill_id,
        bill_number=f"INV-{bill_id}",
        matter_id=matter_id,
        client_id=client_id,
        issued_on=day,
        currency=currency,
        fees=fees,
        recoverable_expenses=recharges,
        disbursements=disbursements,
        bill_level_discount=money(discount, currency),
        vat_total=money(vat_total, currency)
        if vat_total
        else Money(amount_minor=vat_minor, currency=currency),
        total=money(total, currency)
        if total
        else Money(amount_minor=net_minor + vat_minor, currency=currency),
    )


def bill_approved(bill: BillContent, version: str = "v1") -> BillApproved:
    return BillApproved(source=source("Bill", bill.bill_id, version), bill=bill)


def bill_changed(bill: BillContent, version: str, previous_version: str = "v1") -> BillChanged:
    return BillChanged(
        source=source("Bill", bill.bill_id, version), bill=bill, previous_version=previous_version
    )


def bill_voided(bill_id: int, *, day: date = DAY, version: str = "void") -> BillVoided:
    return BillVoided(
        source=source("Bill", bill_id, version), bill_id=bill_id, matter_id=MATTER, voided_on=day
    )


def bill_payment(
    payment_id: int,
    bill_id: int,
    amount: str,
    *,
    paid_from: AccountKind,
    day: date = DAY,
    matter_id: int = MATTER,
    bank_account_id: int | None = None,
    office_bank_account_id: int | None = OFFICE_ACCOUNT,
    version: str = "v1",
) -> BillPaymentReceived:
    if bank_account_id is None:
        bank_account_id = OFFICE_ACCOUNT if paid_from is AccountKind.OFFICE else CLIENT_ACCOUNT
    return BillPaymentReceived(
        source=source("Allocation", payment_id, version),
        payment_id=payment_id,
        bill_id=bill_id,
        matter_id=matter_id,
        paid_on=day,
        amount=money(amount),
        paid_from=paid_from,
        bank_account_id=bank_account_id,
        office_bank_account_id=office_bank_account_id if paid_from is AccountKind.CLIENT else None,
    )


def payment_reversed(
    payment_id: int, bill_id: int, *, day: date = DAY, version: str = "voided"
) -> BillPaymentReversed:
    return BillPaymentReversed(
        source=source("Allocation", payment_id, version),
        payment_id=payment_id,
        bill_id=bill_id,
        matter_id=MATTER,
        reversed_on=day,
    )


def transfer(
    transfer_id: int,
    amount: str,
    *,
    from_account: int,
    to_account: int,
    day: date = DAY,
    matter_id: int | None = None,
    to_matter_id: int | None = None,
    version: str = "v1",
) -> BankTransferMade:
    return BankTransferMade(
        source=source("BankTransaction", transfer_id, version),
        transfer_id=transfer_id,
        from_bank_account_id=from_account,
        to_bank_account_id=to_account,
        transferred_on=day,
        amount=money(amount),
        matter_id=matter_id,
        to_matter_id=to_matter_id,
    )


def disbursement_paid(
    activity_id: int,
    net: str,
    *,
    treatment: VatTreatment = VatTreatment.OUTSIDE_SCOPE,
    vat_amount: str = "0",
    day: date = DAY,
    matter_id: int = MATTER,
    bank_account_id: int = OFFICE_ACCOUNT,
    version: str = "v1",
) -> DisbursementPaid:
    return DisbursementPaid(
        source=source("Activity", activity_id, version),
        activity_id=activity_id,
        matter_id=matter_id,
        paid_on=day,
        description="Court fee",
        vendor="HM Courts & Tribunals Service",
        net=money(net),
        vat_treatment=treatment,
        vat=vat(vat_amount) if vat_amount != "0" else NO_VAT,
        bank_account_id=bank_account_id,
    )


def purchase_invoice(
    invoice_id: int,
    net: str,
    *,
    matter_id: int | None = MATTER,
    treatment: VatTreatment = VatTreatment.STANDARD,
    vat_amount: str = "0",
    day: date = DAY,
    version: str = "v1",
) -> PurchaseInvoiceRecorded:
    return PurchaseInvoiceRecorded(
        source=source("Activity", invoice_id, version),
        invoice_id=invoice_id,
        matter_id=matter_id,
        supplier="Counsel: M. Kelly BL",
        invoiced_on=day,
        description="Counsel's fee note",
        net=money(net),
        vat_treatment=treatment,
        vat=vat(vat_amount) if vat_amount != "0" else NO_VAT,
    )


def purchase_invoice_paid(
    invoice_id: int,
    amount: str,
    *,
    day: date = DAY,
    bank_account_id: int = OFFICE_ACCOUNT,
    payment_id: int | None = None,
    version: str = "v1",
) -> PurchaseInvoicePaid:
    return PurchaseInvoicePaid(
        source=source("BankTransaction", payment_id or 90_000 + invoice_id, version),
        invoice_id=invoice_id,
        paid_on=day,
        amount=money(amount),
        bank_account_id=bank_account_id,
    )


def credit_memo(
    credit_memo_id: int,
    amount: str,
    *,
    day: date = DAY,
    matter_id: int | None = MATTER,
    client_id: int = CLIENT_ID,
    version: str = "v1",
) -> CreditMemoIssued:
    return CreditMemoIssued(
        source=source("CreditMemo", credit_memo_id, version),
        credit_memo_id=credit_memo_id,
        client_id=client_id,
        matter_id=matter_id,
        issued_on=day,
        amount=money(amount),
    )


# --- a firm -------------------------------------------------------------------------------------


def new_ledger(chart: ChartOfAccounts | None = None, *, reference: bool = True) -> Ledger:
    """A firm's books; with ``reference``, its client, two matters, an office account and a
    client account already known."""
    ledger = Ledger("firm-1", chart or england_and_wales_chart())
    if reference:
        send(
            ledger,
            client_upserted(),
            matter_upserted(MATTER),
            matter_upserted(OTHER_MATTER),
            bank_account_upserted(OFFICE_ACCOUNT, AccountKind.OFFICE),
            bank_account_upserted(CLIENT_ACCOUNT, AccountKind.CLIENT),
        )
    return ledger


def send(ledger: Ledger, *events: ClioEvent) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for event in events:
        outcomes += ledger.handle(event)
    return outcomes


def posted(outcomes: list[Outcome]) -> list[Journal]:
    """Every journal the outcomes posted, in order."""
    return [j for outcome in outcomes if isinstance(outcome, Posted) for j in outcome.journals]


def only_journal(outcomes: list[Outcome]) -> Journal:
    journals = posted(outcomes)
    assert len(journals) == 1, journals
    return journals[0]


def lines_of(journal: Journal) -> set[tuple[str, Entry, int, int | None, str | None, int | None]]:
    """A journal's lines as (nominal, debit/credit, pence, matter, side, bank account) — the
    shape the worked examples are written in."""
    return {_shape(line) for line in journal.lines}


def _shape(line: Line) -> tuple[str, Entry, int, int | None, str | None, int | None]:
    side = line.ledger_side.value if line.ledger_side is not None else None
    return (
        line.account_code,
        line.entry,
        line.amount.amount_minor,
        line.matter_id,
        side,
        line.bank_account_id,
    )


DR, CR = Entry.DEBIT, Entry.CREDIT
CLIENT_SIDE, OFFICE_SIDE = "client", "office"


def nominal(ledger: Ledger, code: str) -> int:
    """Debits less credits on a nominal, in pence."""
    return ledger.nominal_balance(code).amount_minor


def column(ledger: Ledger, code: str, matter_id: int, side: AccountKind, bank: int | None) -> int:
    return ledger.balance(BalanceKey(code, matter_id, side, bank)).amount_minor

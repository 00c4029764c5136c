"""The worked example of the legal accounting reference (§6, England and Wales, 20% VAT), as the
events the ledger, the reconciliation service and the Clio connector would publish, plus two
more matters: one overdrawn, one dormant since 2022.

Matter 501 (Áine O'Neill, conveyancing):
  2025-01-06 client pays £1,000 on account into the client account
  2025-01-07 search fee £200 paid from the client account (outside the scope of VAT)
  2025-01-08 court fee £300 paid from the office account (an unbilled disbursement)
  2025-01-10 bill INV-1: fees £1,000 + VAT £200, and the £300 court fee
  2025-01-15 £800 transferred from client to office against the bill
  2025-01-20 counsel's fee note £500 + VAT £100, a linked outlay (purchase ledger)
  2025-02-20 the client pays £400 into the office account (the ledger posts it before the
             Clio payment that names its bill reaches reporting)
Matter 503 (Brendan Walsh): £100 in, £150 out on 2025-02-03: overdrawn by £50.
Matter 504 (Ciara Byrne): £120 in on 2022-03-01, nothing since.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from cashroom_contracts.envelope import Envelope, EventPayload, new_event
from cashroom_contracts.events import clio, ledger, reconciliation
from cashroom_contracts.events.common import AccountKind, ClioSource, VatAmount, VatTreatment
from cashroom_contracts.money import Money

GBP = "GBP"
OFFICE_BANK, CLIENT_BANK = 10, 11
M_ONEILL, M_WALSH, M_BYRNE = 501, 503, 504


def gbp(pence: int) -> Money:
    return Money(amount_minor=pence, currency=GBP)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)


def line(
    code: str,
    debit: int = 0,
    credit: int = 0,
    *,
    matter: int | None = None,
    side: AccountKind | None = None,
    bank: int | None = None,
    vat: str | None = None,
) -> ledger.JournalLine:
    return ledger.JournalLine(
        account_code=code,
        debit=gbp(debit),
        credit=gbp(credit),
        matter_id=matter,
        ledger_side=side,
        bank_account_id=bank,
        vat_code=vat,
    )


def client_side(
    code: str = "2100", debit: int = 0, credit: int = 0, *, matter: int
) -> ledger.JournalLine:
    return line(code, debit, credit, matter=matter, side=AccountKind.CLIENT)


def office_side(
    code: str, debit: int = 0, credit: int = 0, *, matter: int, vat: str | None = None
) -> ledger.JournalLine:
    return line(code, debit, credit, matter=matter, side=AccountKind.OFFICE, vat=vat)


def journal(
    day: date,
    kind: str,
    narrative: str,
    source: tuple[str, str],
    lines: list[ledger.JournalLine],
    *,
    journal_id: uuid.UUID | None = None,
    reverses: uuid.UUID | None = None,
    reason: str | None = None,
) -> ledger.JournalPosted:
    return ledger.JournalPosted(
        journal_id=journal_id or uuid.uuid4(),
        posted_on=day,
        kind=kind,
        narrative=narrative,
        source=ledger.PostingSource(
            system="clio", object_type=source[0], object_id=source[1], version="v1"
        ),
        reverses_journal_id=reverses,
        reason=reason,
        lines=lines,
    )


def src(object_type: str, object_id: int, version: str = "v1") -> ClioSource:
    return ClioSource(object_type=object_type, object_id=object_id, version=version)


def names() -> list[EventPayload]:
    return [
        clio.BankAccountUpserted(
            source=src("BankAccount", OFFICE_BANK),
            bank_account_id=OFFICE_BANK,
            name="Office current",
            kind=AccountKind.OFFICE,
            currency=GBP,
        ),
        clio.BankAccountUpserted(
            source=src("BankAccount", CLIENT_BANK),
            bank_account_id=CLIENT_BANK,
            name="Client current",
            kind=AccountKind.CLIENT,
            currency=GBP,
        ),
        clio.ClientUpserted(
            source=src("Contact", 301),
            client_id=301,
            name="Áine O'Neill",
            kind=clio.ClientKind.PERSON,
        ),
        clio.ClientUpserted(
            source=src("Contact", 303),
            client_id=303,
            name="Brendan Walsh",
            kind=clio.ClientKind.PERSON,
        ),
        clio.ClientUpserted(
            source=src("Contact", 304),
            client_id=304,
            name="Ciara Byrne",
            kind=clio.ClientKind.PERSON,
        ),
        clio.MatterUpserted(
            source=src("Matter", M_ONEILL),
            matter_id=M_ONEILL,
            client_id=301,
            reference="00501-ONeill",
            description="Purchase of 4 Main Street",
            status=clio.MatterStatus.OPEN,
            matter_type="Conveyancing",
            opened_on=date(2025, 1, 2),
            responsible_fee_earner="JM",
        ),
        clio.MatterUpserted(
            source=src("Matter", M_WALSH),
            matter_id=M_WALSH,
            client_id=303,
            reference="00503-Walsh",
            description="Probate",
            status=clio.MatterStatus.OPEN,
            matter_type="Probate",
        ),
        clio.MatterUpserted(
            source=src("Matter", M_BYRNE),
            matter_id=M_BYRNE,
            client_id=304,
            reference="00504-Byrne",
            description="Lease renewal",
            status=clio.MatterStatus.CLOSED,
            matter_type="Commercial",
        ),
    ]


BILL_JOURNAL = uuid.UUID("00000000-0000-0000-0000-000000009001")


def bill_content() -> clio.BillContent:
    return clio.BillContent(
        bill_id=9001,
        bill_number="INV-1",
        matter_id=M_ONEILL,
        client_id=301,
        issued_on=date(2025, 1, 10),
        currency=GBP,
        fees=[
            clio.FeeLine(
                line_id=1,
                description="Conveyancing",
                net=gbp(100000),
                discount=gbp(0),
                vat=VatAmount(rate_basis_points=2000, amount=gbp(20000)),
            )
        ],
        recoverable_expenses=[],
        disbursements=[
            clio.BilledDisbursementLine(
                line_id=2,
                activity_id=None,
                description="Court fee",
                net=gbp(30000),
                vat_treatment=VatTreatment.OUTSIDE_SCOPE,
                vat=VatAmount(rate_basis_points=0, amount=gbp(0)),
            )
        ],
        bill_level_discount=gbp(0),
        vat_total=gbp(20000),
        total=gbp(150000),
    )


def ledger_events() -> list[EventPayload]:
    m = M_ONEILL
    return [
        journal(
            date(2025, 1, 6),
            "client_receipt",
            "Money on account",
            ("BankTransaction", "601"),
            [line("1100", 100000, bank=CLIENT_BANK), client_side(credit=100000, matter=m)],
        ),
        journal(
            date(2025, 1, 7),
            "client_payment",
            "Search fee",
            ("BankTransaction", "602"),
            [client_side(debit=20000, matter=m), line("1100", credit=20000, bank=CLIENT_BANK)],
        ),
        journal(
            date(2025, 1, 8),
            "disbursement_paid",
            "Court fee",
            ("Activity", "603"),
            [
                office_side("1210", 30000, matter=m, vat="outside_scope"),
                line("1000", credit=30000, bank=OFFICE_BANK),
            ],
        ),
        journal(
            date(2025, 1, 10),
            "bill",
            "Bill INV-1",
            ("Bill", "9001"),
            [
                office_side("1200", 150000, matter=m),
                line("4000", credit=100000, vat="sales_standard"),
                line("2200", credit=20000, vat="output_vat"),
                office_side("1210", credit=30000, matter=m, vat="outside_scope"),
            ],
            journal_id=BILL_JOURNAL,
        ),
        journal(
            date(2025, 1, 15),
            "client_to_office_client_half",
            "Transfer for INV-1",
            ("Allocation", "7001"),
            [client_side(debit=80000, matter=m), line("1100", credit=80000, bank=CLIENT_BANK)],
        ),
        journal(
            date(2025, 1, 15),
            "client_to_office_office_half",
            "Transfer for INV-1",
            ("Allocation", "7001"),
            [line("1000", 80000, bank=OFFICE_BANK), office_side("1200", credit=80000, matter=m)],
        ),
        journal(
            date(2025, 1, 20),
            "linked_outlay",
            "Counsel's fee note",
            ("Activity", "8001"),
            [
                office_side("1210", 50000, matter=m, vat="purchases_standard"),
                line("2210", 10000, vat="input_vat"),
                line("2000", credit=60000),
            ],
        ),
        journal(
            date(2025, 2, 20),
            "bill_payment_into_office",
            "Payment for INV-1",
            ("Allocation", "7002"),
            [line("1000", 40000, bank=OFFICE_BANK), office_side("1200", credit=40000, matter=m)],
        ),
        journal(
            date(2025, 1, 20),
            "client_receipt",
            "Money on account",
            ("BankTransaction", "631"),
            [line("1100", 10000, bank=CLIENT_BANK), client_side(credit=10000, matter=M_WALSH)],
        ),
        journal(
            date(2025, 2, 3),
            "client_payment",
            "Payment to beneficiary",
            ("BankTransaction", "632"),
            [
                client_side(debit=15000, matter=M_WALSH),
                line("1100", credit=15000, bank=CLIENT_BANK),
            ],
        ),
        journal(
            date(2022, 3, 1),
            "client_receipt",
            "Deposit",
            ("BankTransaction", "641"),
            [line("1100", 12000, bank=CLIENT_BANK), client_side(credit=12000, matter=M_BYRNE)],
        ),
    ]


OVERDRAWN = uuid.UUID("00000000-0000-0000-0000-00000000e503")


def other_events() -> list[EventPayload]:
    return [
        clio.BillApproved(source=src("Bill", 9001), bill=bill_content()),
        clio.BillPaymentReceived(
            source=src("Allocation", 7001),
            payment_id=7001,
            bill_id=9001,
            matter_id=M_ONEILL,
            paid_on=date(2025, 1, 15),
            amount=gbp(80000),
            paid_from=AccountKind.CLIENT,
            bank_account_id=CLIENT_BANK,
            office_bank_account_id=OFFICE_BANK,
        ),
        clio.PurchaseInvoiceRecorded(
            source=src("Activity", 8001),
            invoice_id=8001,
            matter_id=M_ONEILL,
            supplier="Counsel Chambers",
            invoiced_on=date(2025, 1, 20),
            description="Counsel's opinion",
            net=gbp(50000),
            vat_treatment=VatTreatment.STANDARD,
            vat=VatAmount(rate_basis_points=2000, amount=gbp(10000)),
        ),
        clio.WorkRecorded(
            source=src("Activity", 901, "v1"),
            activity_id=901,
            matter_id=M_ONEILL,
            kind=clio.WorkKind.TIME,
            recorded_on=date(2025, 3, 3),
            description="Requisitions",
            value=gbp(25000),
            billed=False,
            fee_earner="JM",
        ),
        clio.WorkRecorded(
            source=src("Activity", 901, "v2"),
            activity_id=901,
            matter_id=M_ONEILL,
            kind=clio.WorkKind.TIME,
            recorded_on=date(2025, 3, 3),
            description="Requisitions",
            value=gbp(30000),
            billed=False,
            fee_earner="JM",
        ),
        ledger.PostingApplied(
            source=ledger.PostingSource(
                system="clio", object_type="Bill", object_id="9001", version="v1"
            ),
            journal_ids=[BILL_JOURNAL],
        ),
        ledger.ExceptionRaised(
            exception_id=OVERDRAWN,
            kind=ledger.ExceptionKind.OVERDRAWN_CLIENT_LEDGER,
            matter_id=M_WALSH,
            raised_on=date(2025, 2, 3),
            amount=gbp(5000),
            detail="client ledger 00503-Walsh overdrawn by £50.00",
        ),
        reconciliation.ReconciliationSigned(
            reconciliation_id=uuid.UUID(int=1),
            bank_account_id=CLIENT_BANK,
            account_kind=AccountKind.CLIENT,
            as_of=date(2025, 1, 31),
            statement_balance=gbp(0),
            unpresented_payments=gbp(0),
            outstanding_lodgements=gbp(0),
            adjusted_bank_balance=gbp(0),
            cashbook_balance=gbp(0),
            client_ledgers_total=gbp(0),
            signed_by="COFA",
            signed_at=datetime(2025, 2, 2, 9, 0, tzinfo=UTC),
        ),
    ]


def late_events() -> list[EventPayload]:
    """What arrives after the £400 office payment was posted: the Clio payment naming its bill."""
    return [
        clio.BillPaymentReceived(
            source=src("Allocation", 7002),
            payment_id=7002,
            bill_id=9001,
            matter_id=M_ONEILL,
            paid_on=date(2025, 2, 20),
            amount=gbp(40000),
            paid_from=AccountKind.OFFICE,
            bank_account_id=OFFICE_BANK,
        ),
    ]


def envelopes(firm: str) -> list[Envelope[EventPayload]]:
    """Every event of the scenario, in an order a firm's topics could deliver them."""
    payloads: list[EventPayload] = [*names(), *ledger_events(), *other_events(), *late_events()]
    return [envelope(firm, p, i) for i, p in enumerate(payloads)]


def envelope(firm: str, payload: EventPayload, n: int = 0) -> Envelope[EventPayload]:
    day = _day_of(payload)
    return new_event(
        payload,
        firm_id=firm,
        source="test",
        time=at(day).replace(minute=n % 60, second=n // 60 % 60),
    )


def _day_of(payload: Any) -> date:
    for name in ("posted_on", "raised_on", "as_of", "recorded_on", "invoiced_on", "paid_on"):
        if hasattr(payload, name):
            value = getattr(payload, name)
            assert isinstance(value, date)
            return value
    if isinstance(payload, clio.BillApproved):
        return payload.bill.issued_on
    return date(2025, 1, 2)

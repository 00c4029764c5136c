"""legal-accounting.md §6, the worked postings (England & Wales, VAT 20%), step by step.

Matter M holds its client's money in the client account and owes the firm through its office
column. Every figure below is the reference's, in pence.
"""

from ledger_domain_builders import (
    CLIENT_ACCOUNT,
    CLIENT_BANK,
    CLIENT_MONEY,
    CLIENT_SIDE,
    CR,
    DEBTORS,
    DR,
    FEES,
    MATTER,
    OFFICE_ACCOUNT,
    OFFICE_BANK,
    OFFICE_SIDE,
    PURCHASE_LEDGER,
    UNBILLED,
    VAT_INPUT,
    VAT_OUTPUT,
    bill_approved,
    bill_content,
    bill_payment,
    billed_disbursement,
    client_money_paid,
    client_money_received,
    disbursement_paid,
    fee,
    lines_of,
    new_ledger,
    nominal,
    on,
    only_journal,
    posted,
    purchase_invoice,
    send,
)

from cashroom_contracts.events.common import AccountKind
from cashroom_ledger.domain.journals import JournalKind
from cashroom_ledger.domain.ledger import Ledger


def client_side(ledger: Ledger) -> int:
    return ledger.client_balance(MATTER).amount_minor


def office_side(ledger: Ledger) -> int:
    return ledger.office_balance(MATTER).amount_minor


def test_the_worked_postings_of_the_reference_step_by_step() -> None:
    ledger = new_ledger()

    # 1. The client pays £1,000 on account of costs into the client account.
    journal = only_journal(send(ledger, client_money_received(1, "1000.00", day=on(1))))
    assert lines_of(journal) == {
        (CLIENT_BANK, DR, 100000, None, None, CLIENT_ACCOUNT),
        (CLIENT_MONEY, CR, 100000, MATTER, CLIENT_SIDE, CLIENT_ACCOUNT),
    }
    assert client_side(ledger) == 100000

    # 2. A search fee of £200 paid from the client account (as agent, outside the scope of VAT).
    journal = only_journal(send(ledger, client_money_paid(2, "200.00", day=on(2))))
    assert lines_of(journal) == {
        (CLIENT_MONEY, DR, 20000, MATTER, CLIENT_SIDE, CLIENT_ACCOUNT),
        (CLIENT_BANK, CR, 20000, None, None, CLIENT_ACCOUNT),
    }
    assert client_side(ledger) == 100000 - 20000

    # 3. A court fee of £300 paid from the office account: an unbilled disbursement.
    journal = only_journal(send(ledger, disbursement_paid(3, "300.00", day=on(3))))
    assert lines_of(journal) == {
        (UNBILLED, DR, 30000, MATTER, OFFICE_SIDE, None),
        (OFFICE_BANK, CR, 30000, None, None, OFFICE_ACCOUNT),
    }
    assert office_side(ledger) == 30000

    # 4. The bill: fees £1,000 + VAT £200, plus the £300 court fee. The court fee moves from
    #    unbilled to billed on the office side: no new value.
    bill = bill_content(
        4,
        fees=[fee("1000.00", "200.00")],
        disbursements=[billed_disbursement("300.00", activity_id=3)],
        day=on(4),
    )
    journal = only_journal(send(ledger, bill_approved(bill)))
    assert lines_of(journal) == {
        (DEBTORS, DR, 100000 + 20000 + 30000, MATTER, OFFICE_SIDE, None),
        (FEES, CR, 100000, None, None, None),
        (VAT_OUTPUT, CR, 20000, None, None, None),
        (UNBILLED, CR, 30000, MATTER, OFFICE_SIDE, None),
    }
    assert office_side(ledger) == 150000
    assert ledger.unbilled_disbursements(MATTER).amount_minor == 30000 - 30000

    # 5. Transfer client to office to pay the bill, limited to the funds held (£800): two halves.
    outcomes = send(ledger, bill_payment(5, 4, "800.00", paid_from=AccountKind.CLIENT, day=on(5)))
    client_half, office_half = posted(outcomes)
    assert client_half.kind is JournalKind.CLIENT_TO_OFFICE_CLIENT_HALF
    assert lines_of(client_half) == {
        (CLIENT_MONEY, DR, 80000, MATTER, CLIENT_SIDE, CLIENT_ACCOUNT),
        (CLIENT_BANK, CR, 80000, None, None, CLIENT_ACCOUNT),
    }
    assert lines_of(office_half) == {
        (OFFICE_BANK, DR, 80000, None, None, OFFICE_ACCOUNT),
        (DEBTORS, CR, 80000, MATTER, OFFICE_SIDE, None),
    }
    assert client_half.linked_journal_id == office_half.journal_id
    assert office_half.linked_journal_id == client_half.journal_id
    # "After #5 the matter shows client side 0.00 and office side 700.00"
    assert client_side(ledger) == 0
    assert office_side(ledger) == 70000

    # 6. The client pays the £700 balance into the office account.
    journal = only_journal(
        send(ledger, bill_payment(6, 4, "700.00", paid_from=AccountKind.OFFICE, day=on(6)))
    )
    assert lines_of(journal) == {
        (OFFICE_BANK, DR, 70000, None, None, OFFICE_ACCOUNT),
        (DEBTORS, CR, 70000, MATTER, OFFICE_SIDE, None),
    }
    # "... after #6 office side 0.00"
    assert office_side(ledger) == 0

    # The books after #6: the client account is empty; the office account has received
    # 800 + 700 and paid 300; fees and VAT are owed as billed.
    assert ledger.bank_balance(CLIENT_ACCOUNT).amount_minor == 100000 - 20000 - 80000
    assert ledger.bank_balance(OFFICE_ACCOUNT).amount_minor == -30000 + 80000 + 70000
    assert nominal(ledger, FEES) == -100000
    assert nominal(ledger, VAT_OUTPUT) == -20000

    # 7. Counsel's fee note £500 + VAT £100 received, not yet paid (the firm is principal):
    #    a linked outlay on the office side, owed to counsel in the purchase ledger.
    journal = only_journal(
        send(ledger, purchase_invoice(7, "500.00", vat_amount="100.00", day=on(7)))
    )
    assert lines_of(journal) == {
        (UNBILLED, DR, 50000, MATTER, OFFICE_SIDE, None),
        (VAT_INPUT, DR, 10000, None, None, None),
        (PURCHASE_LEDGER, CR, 60000, None, None, None),
    }
    assert office_side(ledger) == 50000
    assert sum(balance.amount_minor for balance in ledger.trial_balance().values()) == 0

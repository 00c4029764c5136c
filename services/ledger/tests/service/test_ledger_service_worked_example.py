"""legal-accounting.md §6, end to end: the worked postings sent to ``clio.events.v1`` are consumed,
posted and answered, and the API's balances, client ledgers, ledger card and journals are the
reference's figures (England & Wales, in pence, worked out by hand below). Sending the same
events again — the same envelopes, or new envelopes for the same Clio versions — changes
nothing."""

from __future__ import annotations

from ledger_domain_builders import (
    CLIENT_ACCOUNT,
    MATTER,
    OFFICE_ACCOUNT,
    bank_account_upserted,
    bill_approved,
    bill_content,
    bill_payment,
    billed_disbursement,
    client_money_paid,
    client_money_received,
    client_upserted,
    disbursement_paid,
    fee,
    matter_upserted,
    on,
    purchase_invoice,
)
from ledger_service_fixtures import (
    Service,
    answers_to,
    envelopes,
    firm_id,
    send,
    set_up,
    staged,
    until_answered,
)

from cashroom_chassis.auth import Role
from cashroom_contracts.envelope import Envelope, EventPayload, new_event
from cashroom_contracts.events import ledger as contract
from cashroom_contracts.events.common import AccountKind


def the_worked_example(firm: str) -> list[Envelope[EventPayload]]:
    return envelopes(
        firm,
        client_upserted(),
        matter_upserted(MATTER),
        bank_account_upserted(OFFICE_ACCOUNT, AccountKind.OFFICE),
        bank_account_upserted(CLIENT_ACCOUNT, AccountKind.CLIENT),
        client_money_received(1, "1000.00", day=on(1)),  # 1. £1,000 on account
        client_money_paid(2, "200.00", day=on(2)),  # 2. search fee from client money
        disbursement_paid(3, "300.00", day=on(3)),  # 3. court fee from the office account
        bill_approved(  # 4. fees £1,000 + VAT £200, and the £300 court fee
            bill_content(
                4,
                fees=[fee("1000.00", "200.00")],
                disbursements=[billed_disbursement("300.00", activity_id=3)],
                day=on(4),
            )
        ),
        bill_payment(5, 4, "800.00", paid_from=AccountKind.CLIENT, day=on(5)),  # 5. transfer
        bill_payment(6, 4, "700.00", paid_from=AccountKind.OFFICE, day=on(6)),  # 6. the balance
        purchase_invoice(7, "500.00", vat_amount="100.00", day=on(7)),  # 7. counsel's fee note
    )


async def test_the_worked_postings_through_kafka_give_the_reference_figures(
    service: Service,
) -> None:
    firm = firm_id()
    await set_up(service, firm, "ew")
    sent = the_worked_example(firm)
    await send(service, firm, sent)

    answers = await until_answered(service, firm, sent)
    assert [type(a) for answer in answers.values() for a in answer] == [
        contract.PostingApplied
    ] * len(sent), answers  # exactly one answer per event consumed, each "applied"
    posted = [
        e.data for e in await staged(service, firm) if isinstance(e.data, contract.JournalPosted)
    ]
    assert len(posted) == 8  # one journal per posting, two for the client-to-office transfer

    async with service.client(firm, Role.VIEWER) as client:
        trial = (await client.get(f"/firms/{firm}/balances")).json()
        balances = {a["code"]: a["balance"]["amount_minor"] for a in trial["accounts"]}
        assert balances == {
            "1000": -30000 + 80000 + 70000,  # office bank: court fee out, transfer and payment in
            "1100": 100000 - 20000 - 80000,  # client bank: £1,000 in, £200 and £800 out
            "1200": 150000 - 80000 - 70000,  # debtors: billed £1,500, paid £800 + £700
            "1210": 30000 - 30000 + 50000,  # unbilled: court fee paid then billed; counsel owed
            "2000": -60000,  # purchase ledger: counsel £500 + VAT £100
            "2100": -100000 + 20000 + 80000,  # client money control
            "2200": -20000,  # VAT output on the fees
            "2210": 10000,  # VAT input on counsel's fee
            "4000": -100000,  # fees
        }
        assert trial["total"] == {"amount_minor": 0, "currency": "GBP"}

        # The three-way figure: after #1 the client account holds £1,000 for the matter, after #2
        # £800, after #5 nothing.
        for day, held in ((1, 100000), (2, 100000 - 20000), (5, 100000 - 20000 - 80000)):
            figure = (
                await client.get(
                    f"/firms/{firm}/balances/client-ledgers",
                    params={"as_of": on(day).isoformat(), "bank_account_id": CLIENT_ACCOUNT},
                )
            ).json()
            assert figure["total"]["amount_minor"] == held
            assert figure["client_bank_balance"]["amount_minor"] == held
            assert figure["matters"] == (
                [{"matter_id": MATTER, "balance": {"amount_minor": held, "currency": "GBP"}}]
                if held
                else []
            )

        # "After #5 the matter shows client side 0.00 and office side 700.00"
        after_five = (
            await client.get(
                f"/firms/{firm}/matters/{MATTER}/balances", params={"as_of": on(5).isoformat()}
            )
        ).json()
        assert after_five["office"]["amount_minor"] == 70000
        assert after_five["client"]["amount_minor"] == 0

        card = (await client.get(f"/firms/{firm}/matters/{MATTER}/ledger-card")).json()
        running = [
            (r["office"]["balance"]["amount_minor"], r["client"]["balance"]["amount_minor"])
            for r in card["rows"]
        ]
        assert running == [
            (0, 100000),  # 1. receipt: client column £1,000
            (0, 100000 - 20000),  # 2. search fee
            (30000, 80000),  # 3. court fee on the office side
            (30000 + 150000 - 30000, 80000),  # 4. the bill: £1,500 billed, the court fee in it
            (150000, 80000 - 80000),  # 5. client half of the transfer
            (150000 - 80000, 0),  # 5. office half
            (70000 - 70000, 0),  # 6. the £700 balance
            (0 + 50000, 0),  # 7. counsel's fee note, a linked outlay
        ]
        assert card["office_closing"]["amount_minor"] == 50000
        assert card["client_name"] == "Aoife Byrne"

        journals = (
            await client.get(f"/firms/{firm}/journals", params={"matter_id": MATTER})
        ).json()
        assert len(journals) == 8
        bill = (
            await client.get(
                f"/firms/{firm}/journals", params={"source_type": "Bill", "source_id": "4"}
            )
        ).json()
        assert [j["kind"] for j in bill] == ["bill"]
        assert bill[0]["source"]["event_id"] == str(sent[7].id)
        assert {
            (line["account_code"], line["debit"]["amount_minor"], line["credit"]["amount_minor"])
            for line in bill[0]["lines"]
        } == {
            ("1200", 150000, 0),
            ("4000", 0, 100000),
            ("2200", 0, 20000),
            ("1210", 0, 30000),
        }


async def test_the_same_events_again_change_nothing(service: Service) -> None:
    firm = firm_id()
    await set_up(service, firm, "ew")
    sent = the_worked_example(firm)
    await send(service, firm, sent)
    first = await until_answered(service, firm, sent)
    async with service.client(firm, Role.VIEWER) as client:
        before = (await client.get(f"/firms/{firm}/balances")).json()
        journals_before = (await client.get(f"/firms/{firm}/journals")).json()

    # The same envelopes (the inbox drops them), then the same Clio versions in new envelopes
    # (the ledger has seen each version: answered as they stand, nothing posted).
    again = [new_event(e.data, firm_id=firm, source="test/clio") for e in sent]
    await send(service, firm, [*sent, *again])
    second = await until_answered(service, firm, again)

    replayed = await answers_to(service, firm, [e.id for e in sent])
    assert replayed == first  # the same envelopes again were not even answered: dropped
    for old, new in zip(sent, again, strict=True):
        [previous], [now] = first[old.id], second[new.id]
        assert isinstance(now, contract.PostingApplied)
        assert isinstance(previous, contract.PostingApplied)
        assert now.journal_ids == previous.journal_ids  # answered with what is live
    async with service.client(firm, Role.VIEWER) as client:
        assert (await client.get(f"/firms/{firm}/balances")).json() == before
        assert (await client.get(f"/firms/{firm}/journals")).json() == journals_before

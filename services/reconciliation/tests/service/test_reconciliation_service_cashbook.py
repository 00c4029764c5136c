"""The cashbook mirror, from ``JournalPosted`` events on the ledger's topic through the real
broker: every line on a bank nominal, signed from the bank's side; client-ledger lines are not
bank lines; a duplicate delivery counts once; a reversal cancels what it reverses."""

from __future__ import annotations

from datetime import date
from typing import Any

from reconciliation_service_fixtures import (
    CLIENT,
    CLIENT_NOMINAL,
    OFFICE,
    OFFICE_IBAN,
    OFFICE_NOMINAL,
    Entry,
    camt053,
    client_for,
    client_payment,
    client_receipt,
    office_receipt,
    produce,
    reversal,
    set_up_firm,
    upload,
    wait_for_journals,
)

from cashroom_chassis.auth import Role
from conftest import RunningService


def eur(cents: int) -> dict[str, Any]:
    return {"amount_minor": cents, "currency": "EUR"}


async def test_bank_nominal_lines_become_cashbook_entries_signed_from_the_bank(
    service: RunningService, firm: str
) -> None:
    receipt = client_receipt(firm, date(2025, 3, 3), 100_000, 42, "Client money received — M0042")
    payment = client_payment(firm, date(2025, 3, 10), 30_000, 42, "Client money paid — M0042")
    fees = office_receipt(firm, date(2025, 3, 11), 24_600, 42, "Payment of bill 01058")
    await set_up_firm(service.app, service.settings, firm, receipt, payment, fees)
    async with client_for(service.app, firm, Role.VIEWER) as http:
        client_book = (await http.get(f"/firms/{firm}/bank-accounts/{CLIENT}/cashbook")).json()
        office_book = (await http.get(f"/firms/{firm}/bank-accounts/{OFFICE}/cashbook")).json()
        accounts = (await http.get(f"/firms/{firm}/bank-accounts")).json()
    # The receipt's bank line is its first (index 0), the payment's its second (index 1).
    assert [(e["entry_id"], e["posted_on"], e["amount"], e["kind"]) for e in client_book] == [
        (f"{receipt.data.journal_id}:0", "2025-03-03", eur(100_000), "receipt"),
        (f"{payment.data.journal_id}:1", "2025-03-10", eur(-30_000), "payment"),
    ]
    assert client_book[0]["reference"] == "Client money received — M0042"
    assert [(e["entry_id"], e["amount"]) for e in office_book] == [
        (f"{fees.data.journal_id}:0", eur(24_600))
    ]
    by_id = {a["bank_account_id"]: a for a in accounts}
    assert {k: by_id[CLIENT][k] for k in ("kind", "currency", "nominal_code", "name")} == {
        "kind": "client",
        "currency": "EUR",
        "nominal_code": CLIENT_NOMINAL,
        "name": "Client Account",
    }
    assert (by_id[OFFICE]["kind"], by_id[OFFICE]["nominal_code"]) == ("office", OFFICE_NOMINAL)
    assert by_id[OFFICE]["account_number_last4"] == "1001"


async def test_an_event_delivered_twice_is_mirrored_once(
    service: RunningService, firm: str
) -> None:
    receipt = client_receipt(firm, date(2025, 3, 3), 5_000, 7, "Client money received — M0007")
    later = client_receipt(firm, date(2025, 3, 4), 6_000, 7, "Client money received — M0007")
    await set_up_firm(service.app, service.settings, firm, receipt)
    await produce(service.settings, firm, [receipt, later])
    await wait_for_journals(service.app, firm, [later])
    async with client_for(service.app, firm, Role.VIEWER) as http:
        book = (await http.get(f"/firms/{firm}/bank-accounts/{CLIENT}/cashbook")).json()
    assert [e["amount"]["amount_minor"] for e in book] == [5_000, 6_000]


async def test_a_reversal_cancels_the_entry_it_reverses_from_its_own_date(
    service: RunningService, firm: str
) -> None:
    fees = office_receipt(firm, date(2025, 3, 4), 24_600, 42, "Payment of bill 01058")
    undone = reversal(firm, fees, date(2025, 3, 10))
    await set_up_firm(service.app, service.settings, firm, fees, undone)
    empty_march = camt053(OFFICE_IBAN, date(2025, 2, 28), 0, [], date(2025, 3, 31))
    async with client_for(service.app, firm) as http:
        await http.post(f"/firms/{firm}/bank-accounts/{OFFICE}/statements", **upload(empty_march))
        book = (await http.get(f"/firms/{firm}/bank-accounts/{OFFICE}/cashbook")).json()
        before = (
            await http.get(
                f"/firms/{firm}/bank-accounts/{OFFICE}/reconciliation",
                params={"as_of": "2025-03-05"},
            )
        ).json()
        after = (
            await http.get(
                f"/firms/{firm}/bank-accounts/{OFFICE}/reconciliation",
                params={"as_of": "2025-03-31"},
            )
        ).json()
    receipt_id, reversal_id = f"{fees.data.journal_id}:0", f"{undone.data.journal_id}:0"
    assert [(e["entry_id"], e["cancelled_by"]) for e in book] == [
        (receipt_id, reversal_id),
        (reversal_id, receipt_id),
    ]
    # On 5 March the receipt stood: not yet banked, an outstanding lodgement.
    assert before["outstanding_lodgements"] == eur(24_600)
    assert before["difference"] == eur(0)
    # From 10 March it and its reversal cancel: nothing outstanding, a nil cashbook.
    assert after["outstanding_lodgements"] == eur(0)
    assert after["unpresented_payments"] == eur(0)
    assert after["cashbook_balance"] == eur(0)
    assert after["outstanding_lodgement_items"] == []


async def test_a_reversed_receipt_gives_its_bank_line_back_to_the_new_version(
    service: RunningService, firm: str
) -> None:
    """Clio edits a receipt: the ledger reverses the journal and posts the new version. The bank
    line matched to the old version is freed and matches the new one."""
    old = office_receipt(firm, date(2025, 3, 4), 24_600, 42, "Payment of bill 01058")
    await set_up_firm(service.app, service.settings, firm, old)
    march = camt053(
        OFFICE_IBAN,
        date(2025, 2, 28),
        0,
        [Entry(date(2025, 3, 5), 24_600, "BOI0305", "Payment of bill 01058")],
        date(2025, 3, 31),
    )
    async with client_for(service.app, firm) as http:
        await http.post(f"/firms/{firm}/bank-accounts/{OFFICE}/statements", **upload(march))
        await http.post(f"/firms/{firm}/bank-accounts/{OFFICE}/auto-match")
        [first] = (await http.get(f"/firms/{firm}/bank-accounts/{OFFICE}/matches")).json()
        assert first["entry_ids"] == [f"{old.data.journal_id}:0"]

        undone = reversal(firm, old, date(2025, 3, 4))
        new = office_receipt(firm, date(2025, 3, 4), 24_600, 42, "Payment of bill 01058 (edited)")
        await produce(service.settings, firm, [undone, new])
        await wait_for_journals(service.app, firm, [undone, new])
        assert (await http.get(f"/firms/{firm}/bank-accounts/{OFFICE}/matches")).json() == []
        await http.post(f"/firms/{firm}/bank-accounts/{OFFICE}/auto-match")
        [second] = (await http.get(f"/firms/{firm}/bank-accounts/{OFFICE}/matches")).json()
        view = (
            await http.get(
                f"/firms/{firm}/bank-accounts/{OFFICE}/reconciliation",
                params={"as_of": "2025-03-31"},
            )
        ).json()
    assert second["entry_ids"] == [f"{new.data.journal_id}:0"]
    assert second["line_ids"] == ["BOI0305"]
    assert (view["statement_balance"], view["cashbook_balance"]) == (eur(24_600), eur(24_600))
    assert view["difference"] == eur(0)

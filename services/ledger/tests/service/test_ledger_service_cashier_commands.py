"""What a cashier does through the API: set up the books (every nominal announced), edit the
chart, enter office payments and their corrections under the same rules as Clio's records, and
choose the default office account — each audited."""

from __future__ import annotations

from ledger_domain_builders import (
    CLIENT_ACCOUNT,
    OFFICE_ACCOUNT,
    bank_account_upserted,
    client_upserted,
    matter_upserted,
)
from ledger_service_fixtures import (
    Service,
    envelopes,
    firm_id,
    send,
    set_up,
    staged,
    until_answered,
)

from cashroom_chassis.auth import Role
from cashroom_contracts.events import ledger as contract
from cashroom_contracts.events.common import AccountKind
from cashroom_ledger.domain import england_and_wales_chart


async def with_bank_accounts(service: Service) -> str:
    firm = firm_id()
    await set_up(service, firm, "ew")
    sent = envelopes(
        firm,
        client_upserted(),
        matter_upserted(42),
        bank_account_upserted(OFFICE_ACCOUNT, AccountKind.OFFICE),
        bank_account_upserted(CLIENT_ACCOUNT, AccountKind.CLIENT),
    )
    await send(service, firm, sent)
    await until_answered(service, firm, sent)
    return firm


async def test_set_up_announces_every_nominal_and_the_connector_can_read_the_chart(
    service: Service,
) -> None:
    firm = await with_bank_accounts(service)
    template = england_and_wales_chart()
    announced = [
        e.data for e in await staged(service, firm) if isinstance(e.data, contract.AccountUpserted)
    ]
    assert [a.code for a in announced] == [a.code for a in template.accounts] + ["1000", "1100"]
    assert {(a.code, a.bank_account_id) for a in announced[-2:]} == {
        ("1000", OFFICE_ACCOUNT),
        ("1100", CLIENT_ACCOUNT),
    }
    async with service.client(firm, Role.SERVICE, subject="clio-connector") as connector:
        accounts = (await connector.get(f"/firms/{firm}/accounts")).json()
    assert len(accounts) == len(template.accounts)
    assert {
        "code": "1100",
        "name": "Client bank — current account",
        "type": "asset",
        "role": "client_bank",
        "currency": "GBP",
        "bank_account_id": CLIENT_ACCOUNT,
    } in accounts


async def test_the_chart_is_edited_within_its_rules(service: Service) -> None:
    firm = await with_bank_accounts(service)
    async with service.client(firm, Role.ADMIN, subject="colp") as admin:
        added = await admin.post(
            f"/firms/{firm}/accounts", json={"code": "6600", "name": "Training", "type": "expense"}
        )
        assert added.status_code == 201, added.text
        assert added.json()["role"] is None
        renamed = await admin.patch(f"/firms/{firm}/accounts/6600", json={"name": "CPD training"})
        assert renamed.json()["name"] == "CPD training"
        duplicate = await admin.post(
            f"/firms/{firm}/accounts", json={"code": "6600", "name": "Again", "type": "expense"}
        )
        assert duplicate.status_code == 422
        assert duplicate.json()["detail"]["problems"] == [
            "code 6600 is already used by CPD training"
        ]
        untyped = await admin.post(
            f"/firms/{firm}/accounts", json={"code": "6700", "name": "X", "type": None}
        )
        assert untyped.status_code == 422
        needed = await admin.delete(f"/firms/{firm}/accounts/1200")
        assert needed.status_code == 422
        assert needed.json()["detail"]["problems"] == [
            "account 1200 is the debtors_control account the posting rules need"
        ]
        mapped = await admin.delete(f"/firms/{firm}/accounts/1000")
        assert mapped.status_code == 422  # the office account's cashbook
        removed = await admin.delete(f"/firms/{firm}/accounts/6600")
        assert removed.status_code == 204
        codes = [a["code"] for a in (await admin.get(f"/firms/{firm}/accounts")).json()]
        assert "6600" not in codes
        actions = [a["action"] for a in (await admin.get(f"/firms/{firm}/audit-log")).json()]
        assert actions[-3:] == ["account_added", "account_changed", "account_removed"]
    withdrawn = [
        e.data
        for e in await staged(service, firm)
        if isinstance(e.data, contract.AccountUpserted) and e.data.code == "6600"
    ]
    assert [(a.name, a.active) for a in withdrawn] == [
        ("Training", True),
        ("CPD training", True),
        ("CPD training", False),
    ]


async def test_an_office_payment_entered_by_hand_posts_and_its_correction_reverses_it(
    service: Service,
) -> None:
    firm = await with_bank_accounts(service)
    rent = {
        "kind": "office_payment",
        "entry_id": "rent-2026-02",
        "paid_on": "2026-02-01",
        "bank_account_id": OFFICE_ACCOUNT,
        "account_code": "6100",
        "net": {"amount_minor": 100000, "currency": "GBP"},
        "vat": {"amount_minor": 20000, "currency": "GBP"},
        "payee": "Landlord Ltd",
        "description": "February rent",
    }
    async with service.client(firm, Role.CASHIER, subject="mary") as cashier:
        posted = await cashier.post(f"/firms/{firm}/manual-entries", json=rent)
        assert posted.status_code == 201, posted.text
        assert (posted.json()["outcome"], len(posted.json()["journal_ids"])) == ("posted", 1)
        again = await cashier.post(f"/firms/{firm}/manual-entries", json=rent)
        assert (again.status_code, again.json()["outcome"]) == (200, "already_entered")

        corrected = await cashier.post(
            f"/firms/{firm}/manual-entries",
            json={
                **rent,
                "revision": 2,
                "net": {"amount_minor": 90000, "currency": "GBP"},
                "vat": {"amount_minor": 18000, "currency": "GBP"},
            },
        )
        assert corrected.status_code == 201, corrected.text
        assert len(corrected.json()["journal_ids"]) == 2  # the reversal and the repost

        trial = (await cashier.get(f"/firms/{firm}/balances")).json()
        balances = {a["code"]: a["balance"]["amount_minor"] for a in trial["accounts"]}
        assert balances["6100"] == 100000 - 100000 + 90000  # rent, reversed, re-entered
        assert balances["2210"] == 20000 - 20000 + 18000  # input VAT likewise
        assert balances["1000"] == -120000 + 120000 - 108000  # paid from the office account
        journals = (
            await cashier.get(f"/firms/{firm}/journals", params={"source_id": "rent-2026-02"})
        ).json()
        assert [(j["kind"], j["entered_by"]) for j in journals] == [
            ("office_payment", "mary"),
            ("reversal", "mary"),
            ("office_payment", "mary"),
        ]
        assert journals[1]["reverses_journal_id"] == journals[0]["journal_id"]

        wrong_currency = await cashier.post(
            f"/firms/{firm}/manual-entries",
            json={
                **rent,
                "entry_id": "rent-eur",
                "net": {"amount_minor": 100, "currency": "EUR"},
                "vat": None,
            },
        )
        assert wrong_currency.status_code == 422
        assert "the firm's books are kept in GBP" in wrong_currency.json()["detail"]
        controlled = await cashier.post(
            f"/firms/{firm}/manual-entries",
            json={**rent, "entry_id": "rent-2100", "account_code": "2100"},
        )
        assert controlled.status_code == 422
        assert (
            "only the posting rules write to the client_money_control"
            in controlled.json()["detail"]
        )
        float_money = await cashier.post(
            f"/firms/{firm}/manual-entries",
            json={
                **rent,
                "entry_id": "rent-float",
                "net": {"amount_minor": 10.5, "currency": "GBP"},
            },
        )
        assert float_money.status_code == 422


async def test_the_default_office_account_is_the_admins_choice(service: Service) -> None:
    firm = await with_bank_accounts(service)
    async with service.client(firm, Role.ADMIN) as admin:
        chosen = await admin.put(
            f"/firms/{firm}/default-office-account", json={"bank_account_id": OFFICE_ACCOUNT}
        )
        assert chosen.status_code == 200
        assert [b["bank_account_id"] for b in chosen.json() if b["default_office_account"]] == [
            OFFICE_ACCOUNT
        ]
        client_account = await admin.put(
            f"/firms/{firm}/default-office-account", json={"bank_account_id": CLIENT_ACCOUNT}
        )
        assert client_account.status_code == 422
        assert client_account.json()["detail"] == f"{CLIENT_ACCOUNT} is not a known office account"

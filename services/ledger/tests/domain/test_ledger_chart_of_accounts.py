"""The chart of accounts: the two templates, and the checks every edit passes."""

import pytest
from ledger_domain_builders import (
    CLIENT_ACCOUNT,
    OFFICE_ACCOUNT,
    bank_account_upserted,
    client_money_received,
    new_ledger,
    send,
)

from cashroom_contracts.events.common import AccountKind
from cashroom_ledger.domain.accounts import (
    Account,
    AccountRole,
    AccountType,
    ChartError,
    ChartOfAccounts,
    Jurisdiction,
    chart_problems,
    chart_template,
    deletion_problems,
    england_and_wales_chart,
    ireland_chart,
    new_account,
)
from cashroom_ledger.domain.ledger import Ledger


@pytest.mark.parametrize(
    ("chart", "currency", "vat_rate"),
    [(england_and_wales_chart(), "GBP", 2000), (ireland_chart(), "EUR", 2300)],
)
def test_each_template_is_complete_in_its_currency_and_vat_rate(
    chart: ChartOfAccounts, currency: str, vat_rate: int
) -> None:
    assert chart_problems(chart) == []
    assert chart.currency == currency
    assert chart.standard_vat_rate_basis_points == vat_rate
    for role in AccountRole:
        assert chart.with_role(role), f"no {role} account"


def test_the_templates_have_what_the_posting_rules_and_the_reports_need() -> None:
    chart = england_and_wales_chart()
    expected = {
        AccountRole.OFFICE_BANK: ("1000", AccountType.ASSET),
        AccountRole.CLIENT_BANK: ("1100", AccountType.ASSET),
        AccountRole.DEBTORS_CONTROL: ("1200", AccountType.ASSET),
        AccountRole.UNBILLED_DISBURSEMENTS: ("1210", AccountType.ASSET),
        AccountRole.PURCHASE_LEDGER_CONTROL: ("2000", AccountType.LIABILITY),
        AccountRole.CLIENT_MONEY_CONTROL: ("2100", AccountType.LIABILITY),
        AccountRole.CLIENT_SUSPENSE: ("2110", AccountType.LIABILITY),
        AccountRole.VAT_OUTPUT: ("2200", AccountType.LIABILITY),
        AccountRole.VAT_INPUT: ("2210", AccountType.ASSET),
        AccountRole.FEE_INCOME: ("4000", AccountType.INCOME),
        AccountRole.EXPENSE_RECOVERY_INCOME: ("4100", AccountType.INCOME),
        AccountRole.CREDIT_NOTES: ("4900", AccountType.INCOME),
        AccountRole.CAPITAL: ("3000", AccountType.EQUITY),
        AccountRole.RETAINED_EARNINGS: ("3100", AccountType.EQUITY),
    }
    for role, (code, type) in expected.items():
        assert chart.code_for(role) == code
        assert chart.account(code).type is type
    # What a P&L and balance sheet need beyond the rules' accounts.
    names = {a.name for a in chart}
    assert {"Bank charges", "Rent and rates", "Interest paid to clients"} <= names


def test_ireland_speaks_of_outlays_and_revenue() -> None:
    chart = chart_template(Jurisdiction.IRELAND)
    assert chart.account("1210").name == "Unbilled outlays"
    assert chart.account("2220").name == "VAT control — Revenue"
    assert england_and_wales_chart().account("1210").name == "Unbilled disbursements"


def test_a_new_account_needs_a_code_a_name_and_a_type() -> None:
    with pytest.raises(ChartError) as error:
        new_account("6600", "Marketing", None)
    assert error.value.problems == [
        "account 6600: a type is required (one of asset, liability, equity, income, expense)"
    ]
    with pytest.raises(ChartError, match="not one of"):
        new_account("6600", "Marketing", "cost")
    with pytest.raises(ChartError, match="a name is required"):
        new_account("6600", "  ", AccountType.EXPENSE)
    with pytest.raises(ChartError, match="must be 1-16 letters"):
        new_account("66 00", "Marketing", AccountType.EXPENSE)
    assert new_account("6600", "Marketing", "expense") == Account(
        "6600", "Marketing", AccountType.EXPENSE
    )


def test_codes_are_unique_and_single_roles_stay_with_one_account() -> None:
    chart = england_and_wales_chart()
    with pytest.raises(ChartError, match="code 6100 is already used by Rent and rates"):
        chart.with_account(Account("6100", "Marketing", AccountType.EXPENSE))
    with pytest.raises(ChartError, match="fee_income role is already held by account 4000"):
        chart.with_account(Account("4001", "Fees 2", AccountType.INCOME, AccountRole.FEE_INCOME))
    with pytest.raises(ChartError, match="must be of type liability"):
        chart.with_account(
            Account("2101", "Client money", AccountType.ASSET, AccountRole.CLIENT_MONEY_CONTROL)
        )
    added = chart.with_account(Account("6600", "Marketing", AccountType.EXPENSE))
    assert added.account("6600").name == "Marketing"
    assert chart.get("6600") is None  # the chart is a value: the original is unchanged


def test_an_account_with_postings_or_a_role_cannot_be_deleted() -> None:
    chart = england_and_wales_chart()
    assert deletion_problems(chart, "6100", used_codes={"6100"}) == [
        "account 6100 (Rent and rates) has postings or a bank account mapped to it"
    ]
    assert deletion_problems(chart, "2100", used_codes=set()) == [
        "account 2100 is the client_money_control account the posting rules need"
    ]
    assert deletion_problems(chart, "6100", used_codes=set()) == []
    assert chart.without_account("6100", used_codes=set()).get("6100") is None


def test_the_ledger_refuses_to_delete_or_retype_a_nominal_it_has_posted_to() -> None:
    ledger = new_ledger()
    send(ledger, client_money_received(1, "10.00"))
    with pytest.raises(ChartError, match="has postings"):
        ledger.remove_account("1100")
    ledger.add_account(Account("6600", "Marketing", AccountType.EXPENSE))
    ledger.change_account("6600", type=AccountType.ASSET, name="Marketing materials")
    assert ledger.chart.account("6600") == Account("6600", "Marketing materials", AccountType.ASSET)
    with pytest.raises(ChartError, match="its type is fixed"):
        ledger.change_account("2100", type=AccountType.ASSET)
    ledger.remove_account("6600")
    assert ledger.chart.get("6600") is None


def test_each_bank_account_gets_its_own_nominal_starting_with_the_templates() -> None:
    ledger = new_ledger(reference=False)
    send(
        ledger,
        bank_account_upserted(CLIENT_ACCOUNT, AccountKind.CLIENT, name="Client Current"),
        bank_account_upserted(OFFICE_ACCOUNT, AccountKind.OFFICE),
        bank_account_upserted(8001, AccountKind.CLIENT, name="Designated deposit"),
    )
    nominals = {bank.bank_account_id: bank.nominal_code for bank in ledger.bank_accounts()}
    assert nominals == {CLIENT_ACCOUNT: "1100", OFFICE_ACCOUNT: "1000", 8001: "1101"}
    deposit = ledger.chart.account("1101")
    assert deposit == Account(
        "1101", "Client bank — Designated deposit", AccountType.ASSET, AccountRole.CLIENT_BANK
    )
    assert chart_problems(ledger.chart) == []


def test_a_ledger_will_not_start_from_a_broken_chart() -> None:
    chart = england_and_wales_chart().without_account("6100", used_codes=set())
    broken = type(chart)(chart.jurisdiction, chart.currency, 2000, chart.accounts[1:])
    with pytest.raises(ChartError, match="no office_bank account"):
        Ledger("firm-1", broken)

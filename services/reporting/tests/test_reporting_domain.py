"""The pure rules, without I/O: VAT boxes, ageing, the chart's convention, journal checks and
the sync summary's arithmetic."""

from __future__ import annotations

from datetime import date

import pytest
from reporting_scenario import gbp, journal, line, src

from cashroom_contracts.events import clio
from cashroom_contracts.events.common import AccountKind
from cashroom_reporting.domain.ageing import age_in_days, band_for, bucket_for
from cashroom_reporting.domain.chart import (
    Account,
    AccountRole,
    AccountType,
    ChartDeclarationError,
    check_declaration,
    resolve_chart,
    sub_ledger_codes,
)
from cashroom_reporting.domain.postings import MalformedJournal, Movement, check_journal
from cashroom_reporting.domain.sync import RecordState, Totals, after_clio_event, changes
from cashroom_reporting.domain.vat import TagTotals, irish_vat3, uk_return, whole_units


def test_uk_return_drops_pence_from_boxes_6_to_9_and_says_when_vat_is_reclaimed() -> None:
    totals = TagTotals(
        {
            "output_vat": Movement(0, 10_050),  # £100.50 charged
            "input_vat": Movement(25_075, 0),  # £250.75 paid
            "sales_standard": Movement(0, 50_299),  # £502.99 of sales: box 6 says 502
            "purchases_standard": Movement(125_375, 0),
            "outside_scope": Movement(4_000, 7_000),
        }
    )
    r = uk_return(totals)
    assert (r.box1, r.box3, r.box4) == (10_050, 10_050, 25_075)
    assert (r.box5, r.box5_payable) == (25_075 - 10_050, False)
    assert (r.box6, r.box7) == (502, 1253)
    assert (r.outside_scope_sales, r.outside_scope_purchases) == (7_000, 4_000)
    assert whole_units(-50_299) == -502  # a net credit note quarter: towards zero


def test_irish_vat3_nets_to_payable_or_repayable_never_both() -> None:
    v = irish_vat3(TagTotals({"output_vat": Movement(0, 23_000), "input_vat": Movement(30_000, 0)}))
    assert (v.t1, v.t2, v.t3, v.t4) == (23_000, 30_000, 0, 30_000 - 23_000)


def test_an_unknown_vat_tag_is_reported_not_dropped() -> None:
    totals = TagTotals({"output_standard": Movement(0, 100), "output_vat": Movement(0, 200)})
    assert totals.unclassified() == {"output_standard": Movement(0, 100)}


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (0, "current"),
        (30, "current"),
        (31, "d31_60"),
        (90, "d61_90"),
        (120, "d91_120"),
        (121, "over_120"),
    ],
)
def test_ageing_buckets_have_inclusive_edges(days: int, bucket: str) -> None:
    assert bucket_for(days).key == bucket


def test_age_counts_whole_days_and_a_future_item_is_not_negative() -> None:
    assert age_in_days(date(2025, 1, 10), date(2025, 3, 31)) == 21 + 28 + 31
    assert age_in_days(date(2025, 4, 1), date(2025, 3, 31)) == 0
    assert band_for(730).label == "2-5 years"


def test_the_convention_types_undeclared_codes_and_recognises_bank_nominals() -> None:
    chart = resolve_chart([], ["1200", "4015", "7100", "1050"], [("1050", AccountKind.CLIENT)])
    assert chart.account("1200").role is AccountRole.DEBTORS_CONTROL
    assert chart.account("4015").type is AccountType.INCOME
    assert chart.account("7100").type is AccountType.EXPENSE
    assert chart.account("1050").role is AccountRole.CLIENT_BANK


def test_a_declared_account_takes_a_role_away_from_the_convention() -> None:
    debtors = Account(
        "1150", "Debtors", AccountType.ASSET, AccountRole.DEBTORS_CONTROL, declared=True
    )
    chart = resolve_chart([debtors], ["1200", "1150"], [])
    assert chart.codes_with(AccountRole.DEBTORS_CONTROL) == {"1150"}
    assert sub_ledger_codes([debtors]) == {"1150", "2000"}


def test_a_declaration_with_a_role_on_the_wrong_type_or_twice_is_refused_with_every_problem() -> (
    None
):
    with pytest.raises(ChartDeclarationError) as refused:
        check_declaration(
            [
                Account(
                    "1200", "Debtors", AccountType.LIABILITY, AccountRole.DEBTORS_CONTROL, True
                ),
                Account(
                    "2100",
                    "Client money",
                    AccountType.LIABILITY,
                    AccountRole.CLIENT_MONEY_CONTROL,
                    True,
                ),
                Account(
                    "2101",
                    "More client money",
                    AccountType.LIABILITY,
                    AccountRole.CLIENT_MONEY_CONTROL,
                    True,
                ),
            ]
        )
    assert refused.value.problems == [
        "account 1200: a debtors_control account must be of type asset, not liability",
        "the client_money_control role is held by both 2100 and 2101",
    ]


def test_a_journal_that_does_not_balance_or_has_a_two_sided_line_is_malformed() -> None:
    unbalanced = journal(
        date(2025, 1, 6),
        "client_receipt",
        "x",
        ("T", "1"),
        [line("1100", 100), line("2100", credit=90)],
    )
    with pytest.raises(MalformedJournal, match="debits 100 and credits 90 in GBP do not balance"):
        check_journal(unbalanced)
    two_sided = journal(
        date(2025, 1, 6), "x", "x", ("T", "2"), [line("1100", 100, 100), line("2100", credit=0)]
    )
    with pytest.raises(MalformedJournal, match="exactly one of debit and credit positive"):
        check_journal(two_sided)


def test_a_record_counts_once_and_a_void_takes_its_money_out() -> None:
    approved = clio.BillVoided(
        source=src("Bill", 1), bill_id=1, matter_id=1, voided_on=date(2025, 2, 1)
    )
    before = RecordState("Bill", True, 1, "GBP", 150_000, False, "posted")
    after = after_clio_event(before, "Bill", approved, new_version=True)
    assert (after.amount, after.versions) == (0, 2)
    assert changes(before, after) == {("Bill", "GBP"): Totals(versions=1, amount=-150_000)}


def test_a_ledger_answer_before_the_clio_record_counts_only_once_the_record_arrives() -> None:
    receipt = clio.ClientMoneyReceived(
        source=src("BankTransaction", 9),
        transaction_id=9,
        matter_id=1,
        bank_account_id=1,
        received_on=date(2025, 1, 1),
        amount=gbp(500),
    )
    outcome_first = RecordState("BankTransaction", False, 0, None, None, False, "held")
    after = after_clio_event(outcome_first, "BankTransaction", receipt, new_version=True)
    assert changes(outcome_first, after) == {
        ("BankTransaction", "GBP"): Totals(records=1, versions=1, amount=500, held=1)
    }

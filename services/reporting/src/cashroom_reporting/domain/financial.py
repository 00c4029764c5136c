"""Trial balance, profit and loss, balance sheet and nominal ledger (§3.4-3.6)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from cashroom_reporting.domain.chart import CLIENT_MONEY_ROLES, AccountRole, AccountType, Chart
from cashroom_reporting.domain.document import (
    Check,
    Col,
    Consistency,
    Figure,
    Kind,
    Report,
    Row,
    Section,
    as_at,
    between,
    make_report,
)
from cashroom_reporting.domain.facts import Header, LedgerLine
from cashroom_reporting.domain.postings import ZERO, Movement

M = Kind.MONEY


def balance_of(balances: Mapping[str, Movement], codes: frozenset[str]) -> int:
    """Debit-minus-credit balance of some nominals."""
    return sum((balances.get(code, ZERO).net for code in codes), 0)


def client_money_checks(chart: Chart, balances: Mapping[str, Movement]) -> list[Check]:
    """I-5: client bank = client money control + client suspense."""
    bank = balance_of(balances, chart.codes_with(AccountRole.CLIENT_BANK))
    control = -balance_of(balances, chart.codes_with(AccountRole.CLIENT_MONEY_CONTROL))
    suspense = -balance_of(balances, chart.codes_with(AccountRole.CLIENT_SUSPENSE))
    return [
        Check(
            "Client bank equals client liabilities (I-5)",
            "client bank nominals",
            bank,
            "client money control + client suspense",
            control + suspense,
        )
    ]


def trial_balance(
    header: Header,
    consistency: Consistency,
    chart: Chart,
    balances: Mapping[str, Movement],
    as_of: date,
) -> Report:
    rows: list[Row] = []
    total_debit = total_credit = 0
    for code in sorted(balances):
        net = balances[code].net
        if net == 0:
            continue
        account = chart.account(code)
        debit, credit = (net, None) if net > 0 else (None, -net)
        total_debit += debit or 0
        total_credit += credit or 0
        rows.append(
            {
                "code": code,
                "name": account.name,
                "type": account.type.value,
                "debit": debit,
                "credit": credit,
            }
        )
    section = Section(
        "accounts",
        "Nominal balances",
        [
            Col("code", "Code", width=0.6),
            Col("name", "Nominal", width=2.6),
            Col("type", "Type", width=0.9),
            Col("debit", "Debit", M),
            Col("credit", "Credit", M),
        ],
        rows,
        totals={"name": "Totals", "debit": total_debit, "credit": total_credit},
    )
    checks = [Check("Debits equal credits (I-17)", "debits", total_debit, "credits", total_credit)]
    checks += client_money_checks(chart, balances)
    return make_report(
        header,
        consistency,
        "trial-balance",
        "Trial balance",
        as_at(as_of),
        {"as_of": as_of},
        [section],
        [
            Figure("total_debit", "Total debits", total_debit),
            Figure("total_credit", "Total credits", total_credit),
        ],
        checks,
    )


def profit_and_loss(
    header: Header,
    consistency: Consistency,
    chart: Chart,
    movements: Mapping[str, Movement],
    start: date,
    end: date,
) -> Report:
    income: list[Row] = []
    expenses: list[Row] = []
    total_income = total_expenses = 0
    for code in sorted(movements):
        account = chart.account(code)
        movement = movements[code]
        if account.type is AccountType.INCOME:
            amount = -movement.net
            total_income += amount
            income.append({"code": code, "name": account.name, "amount": amount})
        elif account.type is AccountType.EXPENSE:
            amount = movement.net
            total_expenses += amount
            expenses.append({"code": code, "name": account.name, "amount": amount})
    cols = [
        Col("code", "Code", width=0.6),
        Col("name", "Nominal", width=3.0),
        Col("amount", "Amount", M),
    ]
    net_profit = total_income - total_expenses
    return make_report(
        header,
        consistency,
        "profit-and-loss",
        "Profit and loss",
        between(start, end),
        {"from": start, "to": end},
        [
            Section(
                "income", "Income", cols, income, {"name": "Total income", "amount": total_income}
            ),
            Section(
                "expenses",
                "Expenses",
                cols,
                expenses,
                {"name": "Total expenses", "amount": total_expenses},
            ),
        ],
        [
            Figure("total_income", "Total income", total_income),
            Figure("total_expenses", "Total expenses", total_expenses),
            Figure("net_profit", "Net profit" if net_profit >= 0 else "Net loss", net_profit),
        ],
        notes=["Accruals basis: income when billed, costs when posted."],
    )


def balance_sheet(
    header: Header,
    consistency: Consistency,
    chart: Chart,
    balances: Mapping[str, Movement],
    as_of: date,
) -> Report:
    groups: dict[AccountType, list[Row]] = {t: [] for t in AccountType}
    client_rows: list[Row] = []
    totals: dict[AccountType, int] = {t: 0 for t in AccountType}
    client_bank = client_liabilities = 0
    for code in sorted(balances):
        account = chart.account(code)
        net = balances[code].net
        amount = net if account.type.normally_debit else -net
        if account.role in CLIENT_MONEY_ROLES:
            if account.role is AccountRole.CLIENT_BANK:
                client_bank += amount
            else:
                client_liabilities += amount
            if net:
                client_rows.append({"code": code, "name": account.name, "amount": amount})
            continue
        totals[account.type] += amount
        if net and account.type.on_balance_sheet:
            groups[account.type].append({"code": code, "name": account.name, "amount": amount})
    profit_to_date = totals[AccountType.INCOME] - totals[AccountType.EXPENSE]
    assets, liabilities = totals[AccountType.ASSET], totals[AccountType.LIABILITY]
    equity = totals[AccountType.EQUITY]
    net_assets = assets - liabilities
    cols = [
        Col("code", "Code", width=0.6),
        Col("name", "Nominal", width=3.0),
        Col("amount", "Amount", M),
    ]
    equity_rows: list[Row] = [
        *groups[AccountType.EQUITY],
        {"code": "", "name": "Profit to date (not yet closed to equity)", "amount": profit_to_date},
    ]
    return make_report(
        header,
        consistency,
        "balance-sheet",
        "Balance sheet",
        as_at(as_of),
        {"as_of": as_of},
        [
            Section(
                "assets",
                "Assets",
                cols,
                groups[AccountType.ASSET],
                {"name": "Total assets", "amount": assets},
            ),
            Section(
                "liabilities",
                "Liabilities",
                cols,
                groups[AccountType.LIABILITY],
                {"name": "Total liabilities", "amount": liabilities},
            ),
            Section(
                "equity",
                "Capital and reserves",
                cols,
                equity_rows,
                {"name": "Total capital and reserves", "amount": equity + profit_to_date},
            ),
            Section(
                "client_money",
                "Client money (memorandum, not in the totals above)",
                cols,
                client_rows,
                note="Client bank balances are held for clients and matched by client liabilities.",
            ),
        ],
        [
            Figure("total_assets", "Total assets", assets),
            Figure("total_liabilities", "Total liabilities", liabilities),
            Figure("net_assets", "Net assets", net_assets),
            Figure("capital_and_reserves", "Capital and reserves", equity + profit_to_date),
        ],
        [
            Check(
                "Net assets equal capital and reserves",
                "net assets",
                net_assets,
                "capital and reserves",
                equity + profit_to_date,
            ),
            Check(
                "Client bank equals client liabilities (I-5)",
                "client bank",
                client_bank,
                "client liabilities",
                client_liabilities,
            ),
        ],
    )


def nominal_ledger(
    header: Header,
    consistency: Consistency,
    chart: Chart,
    code: str,
    opening: Movement,
    lines: Sequence[LedgerLine],
    start: date,
    end: date,
) -> Report:
    account = chart.account(code)
    sign = 1 if account.type.normally_debit else -1
    balance = sign * opening.net
    rows: list[Row] = [{"date": start, "narrative": "Opening balance", "balance": balance}]
    total = ZERO
    for line in lines:
        balance += sign * line.movement.net
        total += line.movement
        rows.append(
            {
                "date": line.posted_on,
                "ref": line.journal_id[:8],
                "type": line.kind,
                "narrative": line.narrative,
                "debit": line.movement.debit or None,
                "credit": line.movement.credit or None,
                "balance": balance,
            }
        )
    return make_report(
        header,
        consistency,
        "nominal-ledger",
        f"Nominal ledger {code} {account.name}",
        between(start, end),
        {"code": code, "from": start, "to": end},
        [
            Section(
                "lines",
                f"{code} {account.name} ({account.type.value})",
                [
                    Col("date", "Date", Kind.DATE, 0.8),
                    Col("ref", "Ref", width=0.7),
                    Col("type", "Type", width=1.1),
                    Col("narrative", "Narrative", width=2.6),
                    Col("debit", "Debit", M),
                    Col("credit", "Credit", M),
                    Col("balance", "Balance", M),
                ],
                rows,
                {
                    "narrative": "Totals / closing",
                    "debit": total.debit,
                    "credit": total.credit,
                    "balance": balance,
                },
            )
        ],
        [Figure("closing_balance", "Closing balance", balance)],
        landscape=True,
    )

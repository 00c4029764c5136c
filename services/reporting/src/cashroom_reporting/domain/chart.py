"""The firm's chart of accounts, as the reports need it: each nominal's type (for the trial
balance, P&L and balance sheet) and the roles the cross-checks hang off (client bank, client money
control, debtors control, purchase ledger control, VAT ...).

The ledger owns the chart and does not publish it yet (see ``chart_of_accounts.py`` for how it
reaches this service meanwhile). Until a nominal is declared, its type and role follow the
convention of the ledger's standard chart: the codes of its template, and the leading digit for
any other code (1 asset, 2 liability, 3 equity, 4 income, 5-9 expense). A bank nominal is also
recognised by the bank accounts its lines name (an office or client account from Clio).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from cashroom_contracts.events.common import AccountKind


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"

    @property
    def normally_debit(self) -> bool:
        return self in (AccountType.ASSET, AccountType.EXPENSE)

    @property
    def on_balance_sheet(self) -> bool:
        return self in (AccountType.ASSET, AccountType.LIABILITY, AccountType.EQUITY)


class AccountRole(StrEnum):
    """What a nominal is for (the ledger's roles, same names)."""

    OFFICE_BANK = "office_bank"
    CLIENT_BANK = "client_bank"
    DEBTORS_CONTROL = "debtors_control"
    UNBILLED_DISBURSEMENTS = "unbilled_disbursements"
    CLIENT_MONEY_CONTROL = "client_money_control"
    CLIENT_SUSPENSE = "client_suspense"
    VAT_OUTPUT = "vat_output"
    VAT_INPUT = "vat_input"
    PURCHASE_LEDGER_CONTROL = "purchase_ledger_control"
    FEE_INCOME = "fee_income"
    EXPENSE_RECOVERY_INCOME = "expense_recovery_income"
    CREDIT_NOTES = "credit_notes"
    DISCOUNTS_ALLOWED = "discounts_allowed"
    SUNDRY_OVERHEADS = "sundry_overheads"
    CAPITAL = "capital"
    RETAINED_EARNINGS = "retained_earnings"


SUB_LEDGER_ROLES = frozenset({AccountRole.DEBTORS_CONTROL, AccountRole.PURCHASE_LEDGER_CONTROL})
"""Control accounts whose lines are tracked item by item (bills, supplier invoices) for ageing."""

SINGLE_ROLES = frozenset(AccountRole) - {AccountRole.OFFICE_BANK, AccountRole.CLIENT_BANK}
"""Roles one nominal holds; the bank roles repeat (one nominal per bank account)."""

CLIENT_MONEY_ROLES = frozenset(
    {AccountRole.CLIENT_BANK, AccountRole.CLIENT_MONEY_CONTROL, AccountRole.CLIENT_SUSPENSE}
)
"""The memorandum pair the balance sheet shows apart: client bank against client liabilities."""


@dataclass(frozen=True, slots=True)
class Account:
    code: str
    name: str
    type: AccountType
    role: AccountRole | None
    declared: bool
    """True when the ledger (or an administrator) declared it; False when inferred."""


# The ledger's standard chart (services/ledger .../domain/accounts.py, England & Wales names).
_A, _L, _Q, _I, _X = (
    AccountType.ASSET,
    AccountType.LIABILITY,
    AccountType.EQUITY,
    AccountType.INCOME,
    AccountType.EXPENSE,
)
_R = AccountRole
CONVENTION: Mapping[str, tuple[str, AccountType, AccountRole | None]] = {
    "1000": ("Office bank — current account", _A, _R.OFFICE_BANK),
    "1100": ("Client bank — current account", _A, _R.CLIENT_BANK),
    "1200": ("Debtors control (billed, office side)", _A, _R.DEBTORS_CONTROL),
    "1210": ("Unbilled disbursements", _A, _R.UNBILLED_DISBURSEMENTS),
    "1300": ("Prepayments", _A, None),
    "1500": ("Office equipment and IT", _A, None),
    "2000": ("Purchase ledger control (creditors)", _L, _R.PURCHASE_LEDGER_CONTROL),
    "2100": ("Client money control (client side of client ledgers)", _L, _R.CLIENT_MONEY_CONTROL),
    "2110": ("Client suspense (unidentified client receipts)", _L, _R.CLIENT_SUSPENSE),
    "2200": ("VAT output (on sales)", _L, _R.VAT_OUTPUT),
    "2210": ("VAT input (on purchases)", _A, _R.VAT_INPUT),
    "2220": ("VAT control", _L, None),
    "2300": ("PAYE and NI", _L, None),
    "2400": ("Accruals", _L, None),
    "3000": ("Partners' capital", _Q, _R.CAPITAL),
    "3100": ("Retained earnings and current accounts", _Q, _R.RETAINED_EARNINGS),
    "4000": ("Fees (profit costs)", _I, _R.FEE_INCOME),
    "4100": ("Expense recoveries (copying, travel)", _I, _R.EXPENSE_RECOVERY_INCOME),
    "4200": ("Interest received", _I, None),
    "4900": ("Credit notes and abatements", _I, _R.CREDIT_NOTES),
    "4910": ("Discounts allowed", _I, _R.DISCOUNTS_ALLOWED),
    "5000": ("Interest paid to clients", _X, None),
    "5100": ("Bad debts and disbursements written off", _X, None),
    "6000": ("Salaries", _X, None),
    "6100": ("Rent and rates", _X, None),
    "6200": ("Professional indemnity insurance", _X, None),
    "6300": ("Practising certificates and regulatory fees", _X, None),
    "6400": ("Bank charges", _X, None),
    "6500": ("Software and IT", _X, None),
    "6900": ("Sundry overheads", _X, _R.SUNDRY_OVERHEADS),
}
_TYPE_BY_LEADING_DIGIT = {"1": _A, "2": _L, "3": _Q, "4": _I}


def conventional_account(code: str) -> Account:
    """The account the convention infers for a code nobody declared."""
    known = CONVENTION.get(code)
    if known is not None:
        name, type_, role = known
        return Account(code, name, type_, role, declared=False)
    type_ = _TYPE_BY_LEADING_DIGIT.get(code[:1], _X)
    return Account(code, f"Nominal {code}", type_, None, declared=False)


@dataclass(frozen=True)
class Chart:
    """Every nominal the firm has declared or used, with a type and (maybe) a role."""

    accounts: Mapping[str, Account]

    def account(self, code: str) -> Account:
        return self.accounts.get(code) or conventional_account(code)

    def codes_with(self, *roles: AccountRole) -> frozenset[str]:
        return frozenset(a.code for a in self.accounts.values() if a.role in roles)

    def has_role(self, role: AccountRole) -> bool:
        return any(a.role is role for a in self.accounts.values())


def resolve_chart(
    declared: Iterable[Account],
    used_codes: Iterable[str],
    bank_links: Iterable[tuple[str, AccountKind]],
) -> Chart:
    """The chart the reports use: declared accounts win; a code used but not declared follows
    the convention, except that a code whose lines name a client (office) bank account is a
    client (office) bank nominal."""
    accounts: dict[str, Account] = {a.code: a for a in declared}
    held = {a.role for a in accounts.values() if a.role in SINGLE_ROLES}
    bank_kind: dict[str, AccountKind] = {}
    for code, bank in bank_links:
        bank_kind.setdefault(code, bank)
    for code in sorted(set(used_codes) | set(bank_kind)):
        if code in accounts:
            continue
        account = conventional_account(code)
        if account.role in held:  # the declared chart gave that role to another nominal
            account = Account(code, account.name, account.type, None, declared=False)
        kind = bank_kind.get(code)
        if kind is not None:
            role = (
                AccountRole.CLIENT_BANK if kind is AccountKind.CLIENT else AccountRole.OFFICE_BANK
            )
            name = account.name if account.role is role else f"{kind.value.title()} bank {code}"
            account = Account(code, name, AccountType.ASSET, role, declared=False)
        accounts[code] = account
    return Chart(accounts)


def sub_ledger_codes(declared: Iterable[Account]) -> frozenset[str]:
    """Nominals tracked item by item: the declared holders of the sub-ledger roles, or the
    conventional code of a role nobody declared."""
    listed = list(declared)
    codes = {a.code for a in listed if a.role in SUB_LEDGER_ROLES}
    declared_codes = {a.code for a in listed}
    for role in SUB_LEDGER_ROLES - {a.role for a in listed}:
        for code, (_, _, conventional_role) in CONVENTION.items():
            if conventional_role is role and code not in declared_codes:
                codes.add(code)
    return frozenset(codes)


class ChartDeclarationError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def check_declaration(accounts: Iterable[Account]) -> list[Account]:
    """A declared chart: codes unique, a single role held once (bank roles may repeat), and each
    role on an account of the type the role needs."""
    listed = list(accounts)
    problems: list[str] = []
    seen: set[str] = set()
    holders: dict[AccountRole, str] = {}
    for account in listed:
        if not account.code.strip():
            problems.append("an account has an empty code")
        if account.code in seen:
            problems.append(f"code {account.code} is declared twice")
        seen.add(account.code)
        if account.role is None:
            continue
        needed = ROLE_TYPES[account.role]
        if account.type is not needed:
            problems.append(
                f"account {account.code}: a {account.role.value} account must be of type "
                f"{needed.value}, not {account.type.value}"
            )
        if account.role in SINGLE_ROLES:
            if account.role in holders:
                problems.append(
                    f"the {account.role.value} role is held by both {holders[account.role]} "
                    f"and {account.code}"
                )
            holders[account.role] = account.code
    if problems:
        raise ChartDeclarationError(problems)
    return listed


ROLE_TYPES: Mapping[AccountRole, AccountType] = {
    _R.OFFICE_BANK: _A,
    _R.CLIENT_BANK: _A,
    _R.DEBTORS_CONTROL: _A,
    _R.UNBILLED_DISBURSEMENTS: _A,
    _R.CLIENT_MONEY_CONTROL: _L,
    _R.CLIENT_SUSPENSE: _L,
    _R.VAT_OUTPUT: _L,
    _R.VAT_INPUT: _A,
    _R.PURCHASE_LEDGER_CONTROL: _L,
    _R.FEE_INCOME: _I,
    _R.EXPENSE_RECOVERY_INCOME: _I,
    _R.CREDIT_NOTES: _I,
    _R.DISCOUNTS_ALLOWED: _I,
    _R.SUNDRY_OVERHEADS: _X,
    _R.CAPITAL: _Q,
    _R.RETAINED_EARNINGS: _Q,
}

"""The chart of accounts: the firm's nominals, their types, and the roles the posting rules need.

A nominal is a general-ledger account with a code ("1200") and a type (asset, liability, equity,
income, expense). Some nominals play a *role* the posting rules rely on: the office and client
bank nominals, the two control accounts the client ledgers hang off (debtors control for the
office side, client money control for the client side), unbilled disbursements, VAT, fee income
and so on. A role names *what* a nominal is for; the code is the firm's to choose.

The chart is an immutable value: every edit returns a new chart or raises ``ChartError`` with the
reasons. Whether an account has been used is the ledger's knowledge, so the checks that need it
take the set of used codes as an argument (``deletion_problems``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum

from cashroom_contracts.events.common import AccountKind
from cashroom_contracts.events.ledger import AccountType as AccountType


class AccountRole(StrEnum):
    """What a nominal is for, as far as the posting rules are concerned.

    The same values as ``cashroom_contracts.events.ledger.AccountRole``, plus three the contract
    lacks (discounts allowed, sundry overheads, capital); those publish with no role.
    """

    OFFICE_BANK = "office_bank"
    CLIENT_BANK = "client_bank"
    DEBTORS_CONTROL = "debtors_control"  # office side of client ledgers: billed, unpaid
    UNBILLED_DISBURSEMENTS = "unbilled_disbursements"  # office side: paid or owed, not yet billed
    CLIENT_MONEY_CONTROL = "client_money_control"  # client side of client ledgers
    CLIENT_SUSPENSE = "client_suspense"  # client money not yet identified to a matter
    VAT_OUTPUT = "vat_output"
    VAT_INPUT = "vat_input"
    PURCHASE_LEDGER_CONTROL = "purchase_ledger_control"
    FEE_INCOME = "fee_income"
    EXPENSE_RECOVERY_INCOME = "expense_recovery_income"
    CREDIT_NOTES = "credit_notes"  # credit notes and abatements (contra income)
    DISCOUNTS_ALLOWED = "discounts_allowed"  # bill-level discounts not spread over fee lines
    SUNDRY_OVERHEADS = "sundry_overheads"  # a supplier invoice for the firm with no nominal given
    CAPITAL = "capital"
    RETAINED_EARNINGS = "retained_earnings"


ROLE_TYPES: dict[AccountRole, AccountType] = {
    AccountRole.OFFICE_BANK: AccountType.ASSET,
    AccountRole.CLIENT_BANK: AccountType.ASSET,
    AccountRole.DEBTORS_CONTROL: AccountType.ASSET,
    AccountRole.UNBILLED_DISBURSEMENTS: AccountType.ASSET,
    AccountRole.CLIENT_MONEY_CONTROL: AccountType.LIABILITY,
    AccountRole.CLIENT_SUSPENSE: AccountType.LIABILITY,
    AccountRole.VAT_OUTPUT: AccountType.LIABILITY,
    AccountRole.VAT_INPUT: AccountType.ASSET,
    AccountRole.PURCHASE_LEDGER_CONTROL: AccountType.LIABILITY,
    AccountRole.FEE_INCOME: AccountType.INCOME,
    AccountRole.EXPENSE_RECOVERY_INCOME: AccountType.INCOME,
    AccountRole.CREDIT_NOTES: AccountType.INCOME,
    AccountRole.DISCOUNTS_ALLOWED: AccountType.INCOME,
    AccountRole.SUNDRY_OVERHEADS: AccountType.EXPENSE,
    AccountRole.CAPITAL: AccountType.EQUITY,
    AccountRole.RETAINED_EARNINGS: AccountType.EQUITY,
}

# Roles held by one nominal each. Bank roles repeat: one nominal per bank account.
BANK_ROLES: frozenset[AccountRole] = frozenset({AccountRole.OFFICE_BANK, AccountRole.CLIENT_BANK})
SINGLE_ROLES: frozenset[AccountRole] = frozenset(AccountRole) - BANK_ROLES

# Nominals whose lines belong to a sub-ledger (a matter's column, a bank account's cashbook, the
# purchase ledger): only the posting rules write to them, never a free-form manual entry.
CONTROLLED_ROLES: frozenset[AccountRole] = BANK_ROLES | {
    AccountRole.DEBTORS_CONTROL,
    AccountRole.UNBILLED_DISBURSEMENTS,
    AccountRole.CLIENT_MONEY_CONTROL,
    AccountRole.CLIENT_SUSPENSE,
    AccountRole.PURCHASE_LEDGER_CONTROL,
    AccountRole.VAT_OUTPUT,
    AccountRole.VAT_INPUT,
}

BANK_CODE_SERIES: dict[AccountKind, range] = {
    AccountKind.OFFICE: range(1000, 1100),
    AccountKind.CLIENT: range(1100, 1200),
}

_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,15}$")


class Jurisdiction(StrEnum):
    ENGLAND_AND_WALES = "england_and_wales"
    IRELAND = "ireland"


class ChartError(ValueError):
    """An edit would leave the chart of accounts invalid; ``problems`` says why, one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Account:
    """One nominal. ``role`` is set when the posting rules rely on it."""

    code: str
    name: str
    type: AccountType
    role: AccountRole | None = None


def new_account(
    code: str, name: str, type: AccountType | str | None, role: AccountRole | None = None
) -> Account:
    """An account from what a cashier typed: a code, a name and a type (required)."""
    problems = _account_problems(code, name, type, role)
    if problems:
        raise ChartError(problems)
    assert type is not None  # checked above
    return Account(code=code, name=name.strip(), type=AccountType(type), role=role)


def _account_problems(
    code: str, name: str, type: AccountType | str | None, role: AccountRole | None
) -> list[str]:
    problems = []
    if not _CODE.match(code):
        problems.append(
            f"code {code!r} must be 1-16 letters, digits, dots or dashes, starting with one "
            "letter or digit"
        )
    if not name.strip():
        problems.append(f"account {code}: a name is required")
    if type is None or type == "":
        problems.append(f"account {code}: a type is required (one of {_type_list()})")
    elif type not in {t.value for t in AccountType}:
        problems.append(f"account {code}: type {type!r} is not one of {_type_list()}")
    elif role is not None and AccountType(type) is not ROLE_TYPES[role]:
        problems.append(
            f"account {code}: a {role.value} account must be of type {ROLE_TYPES[role].value}, "
            f"not {type}"
        )
    return problems


def _type_list() -> str:
    return ", ".join(t.value for t in AccountType)


@dataclass(frozen=True)
class ChartOfAccounts:
    """The firm's nominals, in its currency, with the standard VAT rate of its jurisdiction."""

    jurisdiction: Jurisdiction
    currency: str
    standard_vat_rate_basis_points: int
    accounts: tuple[Account, ...]
    _by_code: dict[str, Account] = field(init=False, repr=False, compare=False)
    _by_role: dict[AccountRole, tuple[Account, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_role: dict[AccountRole, list[Account]] = {}
        for account in self.accounts:
            if account.role is not None:
                by_role.setdefault(account.role, []).append(account)
        object.__setattr__(self, "_by_code", {a.code: a for a in self.accounts})
        object.__setattr__(self, "_by_role", {r: tuple(a) for r, a in by_role.items()})

    def __iter__(self) -> Iterator[Account]:
        return iter(self.accounts)

    def get(self, code: str) -> Account | None:
        return self._by_code.get(code)

    def account(self, code: str) -> Account:
        account = self._by_code.get(code)
        if account is None:
            raise KeyError(f"no account {code} in the chart of accounts")
        return account

    def code_for(self, role: AccountRole) -> str:
        """The nominal code that plays ``role`` (the first, for the repeating bank roles)."""
        accounts = self._by_role.get(role, ())
        if not accounts:
            raise KeyError(f"the chart of accounts has no {role.value} account")
        return accounts[0].code

    def with_role(self, role: AccountRole) -> tuple[Account, ...]:
        return self._by_role.get(role, ())

    # --- edits: each returns a new chart or raises ChartError --------------------------------

    def with_account(self, account: Account) -> ChartOfAccounts:
        """Add an account: codes stay unique and each single role stays with one account."""
        problems = _account_problems(account.code, account.name, account.type, account.role)
        if account.code in self._by_code:
            problems.append(
                f"code {account.code} is already used by {self.account(account.code).name}"
            )
        if account.role in SINGLE_ROLES and self._by_role.get(account.role):
            held_by = self.code_for(account.role)
            problems.append(f"the {account.role.value} role is already held by account {held_by}")
        if problems:
            raise ChartError(problems)
        return replace(self, accounts=(*self.accounts, account))

    def with_account_changed(
        self,
        code: str,
        *,
        used_codes: Collection[str],
        name: str | None = None,
        type: AccountType | str | None = None,
    ) -> ChartOfAccounts:
        """Rename an account, or change its type while it has no postings and no role."""
        current = self.get(code)
        if current is None:
            raise ChartError([f"no account {code} in the chart of accounts"])
        new_type = current.type if type is None else type
        problems = _account_problems(code, current.name if name is None else name, new_type, None)
        if not problems and AccountType(new_type) is not current.type:
            if current.role is not None:
                problems.append(
                    f"account {code} is the {current.role.value} account; its type is fixed"
                )
            if code in used_codes:
                problems.append(f"account {code} has postings; its type can no longer change")
        if problems:
            raise ChartError(problems)
        changed = replace(
            current,
            name=current.name if name is None else name.strip(),
            type=AccountType(new_type),
        )
        return replace(
            self, accounts=tuple(changed if a.code == code else a for a in self.accounts)
        )

    def without_account(self, code: str, *, used_codes: Collection[str]) -> ChartOfAccounts:
        problems = deletion_problems(self, code, used_codes=used_codes)
        if problems:
            raise ChartError(problems)
        return replace(self, accounts=tuple(a for a in self.accounts if a.code != code))

    def with_bank_nominal(
        self, kind: AccountKind, name: str, taken: Collection[str]
    ) -> tuple[ChartOfAccounts, str]:
        """The nominal for a new bank account: the first bank nominal of its kind not yet mapped to
        a bank account (``taken``), or a new one, numbered on from the last in its series."""
        role = AccountRole.OFFICE_BANK if kind is AccountKind.OFFICE else AccountRole.CLIENT_BANK
        for account in self.with_role(role):
            if account.code not in taken:
                return self, account.code
        series = BANK_CODE_SERIES[kind]
        for number in series:
            if str(number) not in self._by_code:
                label = "Office bank" if kind is AccountKind.OFFICE else "Client bank"
                account = Account(str(number), f"{label} — {name}", AccountType.ASSET, role)
                return self.with_account(account), account.code
        raise ChartError([f"no free code left for a {kind.value} bank nominal in {series}"])


def deletion_problems(
    chart: ChartOfAccounts, code: str, *, used_codes: Collection[str]
) -> list[str]:
    """Why ``code`` cannot be deleted (empty if it can): it is used, or the rules need it."""
    account = chart.get(code)
    if account is None:
        return [f"no account {code} in the chart of accounts"]
    problems = []
    if code in used_codes:
        problems.append(
            f"account {code} ({account.name}) has postings or a bank account mapped to it"
        )
    if account.role in SINGLE_ROLES:
        problems.append(
            f"account {code} is the {account.role.value} account the posting rules need"
        )
    return problems


def chart_problems(chart: ChartOfAccounts) -> list[str]:
    """Everything wrong with a whole chart (empty when it is fit to post with)."""
    problems = []
    seen: set[str] = set()
    for account in chart.accounts:
        problems += _account_problems(account.code, account.name, account.type, account.role)
        if account.code in seen:
            problems.append(f"code {account.code} is used twice")
        seen.add(account.code)
    for role in AccountRole:
        holders = chart.with_role(role)
        if not holders:
            problems.append(f"no {role.value} account")
        elif role in SINGLE_ROLES and len(holders) > 1:
            codes = ", ".join(a.code for a in holders)
            problems.append(f"the {role.value} role is held by more than one account ({codes})")
    if not re.match(r"^[A-Z]{3}$", chart.currency):
        problems.append(f"currency {chart.currency!r} is not an ISO 4217 code")
    if not 0 <= chart.standard_vat_rate_basis_points <= 10_000:
        problems.append("the standard VAT rate must be between 0% and 100%")
    return problems


# --- templates ----------------------------------------------------------------------------------

_A, _L, _Q, _IN, _X = (
    AccountType.ASSET,
    AccountType.LIABILITY,
    AccountType.EQUITY,
    AccountType.INCOME,
    AccountType.EXPENSE,
)
_R = AccountRole

# (code, England & Wales name, Ireland name, type, role)
_TEMPLATE: tuple[tuple[str, str, str, AccountType, AccountRole | None], ...] = (
    ("1000", "Office bank — current account", "Office account — current", _A, _R.OFFICE_BANK),
    ("1100", "Client bank — current account", "Client account — current", _A, _R.CLIENT_BANK),
    (
        "1200",
        "Debtors control (billed, office side)",
        "Debtors control (billed, office side)",
        _A,
        _R.DEBTORS_CONTROL,
    ),
    ("1210", "Unbilled disbursements", "Unbilled outlays", _A, _R.UNBILLED_DISBURSEMENTS),
    ("1300", "Prepayments", "Prepayments", _A, None),
    ("1500", "Office equipment and IT", "Office equipment and IT", _A, None),
    (
        "2000",
        "Purchase ledger control (creditors)",
        "Purchase ledger control (creditors)",
        _L,
        _R.PURCHASE_LEDGER_CONTROL,
    ),
    (
        "2100",
        "Client money control (client side of client ledgers)",
        "Client money control (client side of client ledgers)",
        _L,
        _R.CLIENT_MONEY_CONTROL,
    ),
    (
        "2110",
        "Client suspense (unidentified client receipts)",
        "Client suspense (unidentified lodgements)",
        _L,
        _R.CLIENT_SUSPENSE,
    ),
    ("2200", "VAT output (on sales)", "VAT on sales (T1)", _L, _R.VAT_OUTPUT),
    ("2210", "VAT input (on purchases)", "VAT on purchases (T2)", _A, _R.VAT_INPUT),
    ("2220", "VAT control — HMRC", "VAT control — Revenue", _L, None),
    ("2300", "PAYE and NI", "PAYE, PRSI and USC", _L, None),
    ("2400", "Accruals", "Accruals", _L, None),
    ("3000", "Partners' capital", "Partners' capital", _Q, _R.CAPITAL),
    (
        "3100",
        "Retained earnings and current accounts",
        "Retained earnings and current accounts",
        _Q,
        _R.RETAINED_EARNINGS,
    ),
    ("4000", "Fees (profit costs)", "Professional fees", _IN, _R.FEE_INCOME),
    (
        "4100",
        "Expense recoveries (copying, travel)",
        "Recoverable expenses (copying, travel)",
        _IN,
        _R.EXPENSE_RECOVERY_INCOME,
    ),
    ("4200", "Interest received", "Interest received", _IN, None),
    ("4900", "Credit notes and abatements", "Credit notes and abatements", _IN, _R.CREDIT_NOTES),
    ("4910", "Discounts allowed", "Discounts allowed", _IN, _R.DISCOUNTS_ALLOWED),
    ("5000", "Interest paid to clients", "Interest paid to clients", _X, None),
    (
        "5100",
        "Bad debts and disbursements written off",
        "Bad debts and outlays written off",
        _X,
        None,
    ),
    ("6000", "Salaries", "Salaries", _X, None),
    ("6100", "Rent and rates", "Rent and rates", _X, None),
    ("6200", "Professional indemnity insurance", "Professional indemnity insurance", _X, None),
    (
        "6300",
        "Practising certificates and regulatory fees",
        "Practising certificates and Law Society fees",
        _X,
        None,
    ),
    ("6400", "Bank charges", "Bank charges", _X, None),
    ("6500", "Software and IT", "Software and IT", _X, None),
    ("6900", "Sundry overheads", "Sundry overheads", _X, _R.SUNDRY_OVERHEADS),
)


def england_and_wales_chart() -> ChartOfAccounts:
    """A law firm's chart for England & Wales: GBP, VAT 20%."""
    accounts = tuple(Account(code, name, type, role) for code, name, _, type, role in _TEMPLATE)
    return ChartOfAccounts(Jurisdiction.ENGLAND_AND_WALES, "GBP", 2000, accounts)


def ireland_chart() -> ChartOfAccounts:
    """A law firm's chart for Ireland: EUR, VAT 23%, Irish names (outlays, lodgements)."""
    accounts = tuple(Account(code, name, type, role) for code, _, name, type, role in _TEMPLATE)
    return ChartOfAccounts(Jurisdiction.IRELAND, "EUR", 2300, accounts)


def chart_template(jurisdiction: Jurisdiction) -> ChartOfAccounts:
    if jurisdiction is Jurisdiction.IRELAND:
        return ireland_chart()
    return england_and_wales_chart()

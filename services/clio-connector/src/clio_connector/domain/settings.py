"""The firm's sync settings: what the connector imports from Clio and how it treats it.

One record per firm (architecture.md §5). The model checks everything that needs no I/O; the
checks that need the ledger's chart of accounts or Clio's bank accounts are plain functions that
take those facts as arguments and return the errors, so the caller fetches and this module judges.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cashroom_contracts.events.common import AccountKind

# Clio was founded in 2008; a cut-off before 2000 is a typing slip (0202 for 2022), not a choice.
EARLIEST_CUT_OFF = date(2000, 1, 1)

NominalCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=20,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$",
        description="A nominal (account) code in the ledger's chart of accounts, e.g. 4000.",
    ),
]


class RecordImport(StrEnum):
    """How contacts, matters and practice areas come over from Clio."""

    IMPORT_AND_UPDATE = "import_and_update"  # new records and later edits
    IMPORT_ONLY = "import_only"  # new records; later edits in Clio are skipped and logged
    DO_NOT_IMPORT = "do_not_import"


class DisbursementVat(StrEnum):
    """VAT on disbursements paid to third parties (court fees, searches, counsel)."""

    LET_ME_REVIEW = "let_me_review"  # hold every disbursement as a flagged line until decided
    OUTSIDE_SCOPE = "outside_scope"  # paid as the client's agent: no VAT (HMRC VAT Notice 700 §25)


class DisbursementTreatment(StrEnum):
    """How a disbursement (a hard cost in Clio) is posted."""

    PAID_FROM_BANK_ACCOUNT = "paid_from_bank_account"  # paid: DR matter office side, CR office bank
    LINKED_OUTLAY = "linked_outlay"  # owed: a supplier invoice allocated to the matter


class SyncSettings(BaseModel):
    """Everything a firm decides about its Clio sync, with the recommended defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contacts: RecordImport = Field(
        default=RecordImport.IMPORT_AND_UPDATE,
        description="Clients (Clio contacts that are clients).",
    )
    matters: RecordImport = RecordImport.IMPORT_AND_UPDATE
    practice_areas: RecordImport = RecordImport.IMPORT_AND_UPDATE
    default_matter_type: str = Field(
        default="General",
        min_length=1,
        max_length=120,
        description="Matter type for a matter that has no practice area in Clio.",
    )
    default_client_account_id: int | None = Field(
        default=None,
        gt=0,
        description="The Clio Trust bank account that is the firm's main client account; used "
        "where Clio says money is client money but names no account. Transactions on other "
        "client accounts still import.",
    )
    default_fee_nominal: NominalCode = Field(
        default="4000", description="Income nominal for billed time (profit costs)."
    )
    expense_income_nominal: NominalCode = Field(
        default="4100",
        description="Income nominal for recoverable firm expenses (photocopying, travel).",
    )
    allow_full_sync: bool = True
    import_transactions_from: date | None = Field(
        default=None,
        description="The cut-off (Klyant's 'import transactions dated after'): bills, payments, "
        "client money and disbursements dated before it are skipped and logged; on or after it "
        "they are imported. None imports everything.",
    )
    import_client_transactions: bool = Field(
        default=True, description="Client (trust) account transactions."
    )
    import_bills: bool = Field(
        default=True,
        description="Approved bills only: draft and awaiting-approval bills are never imported; "
        "a voided bill reverses; an edited approved bill is re-posted.",
    )
    import_bill_payments: bool = True
    group_fee_lines_for_discounts: bool = Field(
        default=True,
        description="Allocate a bill-level discount to the bill's time-entry fee lines instead "
        "of posting it as a line of its own.",
    )
    vat_on_disbursements: DisbursementVat = DisbursementVat.LET_ME_REVIEW
    disbursements_with_vendor: DisbursementTreatment = DisbursementTreatment.PAID_FROM_BANK_ACCOUNT
    disbursements_without_vendor: DisbursementTreatment = DisbursementTreatment.LINKED_OUTLAY
    disbursement_bank_account_id: int | None = Field(
        default=None,
        gt=0,
        description="The Clio office (Operating) bank account that pays disbursements posted "
        "as paid from a bank account (Clio does not say which account paid a hard cost).",
    )
    allow_updating_disbursements_in_clio: bool = Field(
        default=False,
        description="Write corrections made in the sync log back to the Clio expense entry.",
    )

    @field_validator("default_matter_type")
    @classmethod
    def _matter_type_not_blank(cls, value: str) -> str:
        stripped = value.strip()
        if not stripped:
            raise ValueError("the default matter type must not be blank")
        return stripped

    @field_validator("import_transactions_from")
    @classmethod
    def _cut_off_is_a_real_date(cls, value: date | None) -> date | None:
        if value is not None and value < EARLIEST_CUT_OFF:
            raise ValueError(
                f"a cut-off of {value.isoformat()} is before {EARLIEST_CUT_OFF.isoformat()}; "
                "check the year"
            )
        return value

    def is_before_cut_off(self, day: date) -> bool:
        """True when a transaction dated ``day`` is not imported (dated before the cut-off)."""
        cut_off = self.import_transactions_from
        return cut_off is not None and day < cut_off


# --- Checks that need facts from elsewhere (the caller fetches them) ---------------------------


@dataclass(frozen=True)
class SettingsError:
    """One setting that cannot be accepted, and why (shown next to the field)."""

    field: str
    message: str


@dataclass(frozen=True)
class KnownBankAccount:
    """A bank account as Clio describes it: Trust accounts are client accounts."""

    bank_account_id: int
    name: str
    kind: AccountKind
    currency: str


def check_cut_off(settings: SyncSettings, *, today: date) -> list[SettingsError]:
    """A cut-off in the future would skip every transaction until then."""
    cut_off = settings.import_transactions_from
    if cut_off is not None and cut_off > today:
        return [
            SettingsError(
                "import_transactions_from",
                f"{cut_off.isoformat()} is in the future (today is {today.isoformat()}); "
                "everything dated until then would be skipped",
            )
        ]
    return []


def check_nominal_codes(
    settings: SyncSettings, *, nominal_codes: Collection[str]
) -> list[SettingsError]:
    """The fee and expense income nominals must exist in the ledger's chart of accounts."""
    errors = []
    for field in ("default_fee_nominal", "expense_income_nominal"):
        code = getattr(settings, field)
        if code not in nominal_codes:
            errors.append(
                SettingsError(field, f"nominal {code} is not in the firm's chart of accounts")
            )
    return errors


def check_bank_accounts(
    settings: SyncSettings, *, bank_accounts: Mapping[int, KnownBankAccount]
) -> list[SettingsError]:
    """The default client account must be a Clio Trust account; the disbursement account an
    Operating (office) account."""
    errors = []
    wanted = (
        ("default_client_account_id", settings.default_client_account_id, AccountKind.CLIENT),
        ("disbursement_bank_account_id", settings.disbursement_bank_account_id, AccountKind.OFFICE),
    )
    for field, account_id, kind in wanted:
        if account_id is None:
            continue
        account = bank_accounts.get(account_id)
        if account is None:
            errors.append(SettingsError(field, f"Clio has no bank account {account_id}"))
        elif account.kind is not kind:
            clio_type = "Trust" if kind is AccountKind.CLIENT else "Operating"
            errors.append(
                SettingsError(
                    field,
                    f"{account.name} ({account_id}) is a {account.kind.value} account; "
                    f"choose a Clio {clio_type} account",
                )
            )
    return errors


def settings_errors(
    settings: SyncSettings,
    *,
    today: date,
    nominal_codes: Collection[str],
    bank_accounts: Mapping[int, KnownBankAccount],
) -> list[SettingsError]:
    """Every reason the settings cannot be saved, given today's date and the firm's facts."""
    return [
        *check_cut_off(settings, today=today),
        *check_nominal_codes(settings, nominal_codes=nominal_codes),
        *check_bank_accounts(settings, bank_accounts=bank_accounts),
    ]

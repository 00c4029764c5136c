"""The firm's sync settings: recommended defaults, checks without I/O, and checks against the
facts the caller fetched (the chart of accounts, Clio's bank accounts, today's date)."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from cashroom_contracts.events.common import AccountKind
from clio_connector.domain.settings import (
    DisbursementTreatment,
    DisbursementVat,
    KnownBankAccount,
    RecordImport,
    SettingsError,
    SyncSettings,
    check_bank_accounts,
    check_cut_off,
    check_nominal_codes,
    settings_errors,
)

CLIENT_ACCOUNT = KnownBankAccount(7001, "Client Account", AccountKind.CLIENT, "EUR")
OFFICE_ACCOUNT = KnownBankAccount(7002, "Office Account", AccountKind.OFFICE, "EUR")
ACCOUNTS = {7001: CLIENT_ACCOUNT, 7002: OFFICE_ACCOUNT}
CHART = {"1000", "1100", "4000", "4100"}


class TestRecommendedDefaults:
    def test_import_everything_approved_and_review_vat_on_disbursements(self) -> None:
        settings = SyncSettings()

        assert settings.contacts is RecordImport.IMPORT_AND_UPDATE
        assert settings.matters is RecordImport.IMPORT_AND_UPDATE
        assert settings.practice_areas is RecordImport.IMPORT_AND_UPDATE
        assert settings.default_matter_type == "General"
        assert settings.default_client_account_id is None
        assert (settings.default_fee_nominal, settings.expense_income_nominal) == ("4000", "4100")
        assert settings.allow_full_sync is True
        assert settings.import_transactions_from is None
        assert settings.import_client_transactions is True
        assert settings.import_bills is True
        assert settings.import_bill_payments is True
        assert settings.group_fee_lines_for_discounts is True
        assert settings.vat_on_disbursements is DisbursementVat.LET_ME_REVIEW
        assert settings.disbursements_with_vendor is DisbursementTreatment.PAID_FROM_BANK_ACCOUNT
        assert settings.disbursements_without_vendor is DisbursementTreatment.LINKED_OUTLAY
        assert settings.disbursement_bank_account_id is None
        assert settings.allow_updating_disbursements_in_clio is False

    def test_round_trip_through_json_unchanged(self) -> None:
        settings = SyncSettings(import_transactions_from=date(2025, 12, 31))
        assert SyncSettings.model_validate_json(settings.model_dump_json()) == settings


class TestChecksThatNeedNoFacts:
    @pytest.mark.parametrize("code", ["", " 4000", "40 00", "x" * 21])
    def test_a_nominal_code_must_look_like_one(self, code: str) -> None:
        with pytest.raises(ValidationError, match="default_fee_nominal"):
            SyncSettings(default_fee_nominal=code)

    def test_a_blank_default_matter_type_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="blank"):
            SyncSettings(default_matter_type="   ")

    def test_a_cut_off_with_a_mistyped_year_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="check the year"):
            SyncSettings(import_transactions_from=date(202, 3, 31))

    def test_an_unknown_setting_is_refused_not_ignored(self) -> None:
        with pytest.raises(ValidationError, match="extra"):
            SyncSettings.model_validate({"import_drafts": True})

    @pytest.mark.parametrize("account_id", [0, -7])
    def test_bank_account_ids_are_positive(self, account_id: int) -> None:
        with pytest.raises(ValidationError):
            SyncSettings(default_client_account_id=account_id)

    def test_the_cut_off_skips_everything_dated_before_it_and_keeps_the_day_itself(self) -> None:
        settings = SyncSettings(import_transactions_from=date(2026, 4, 1))
        assert settings.is_before_cut_off(date(2026, 3, 31))
        assert not settings.is_before_cut_off(date(2026, 4, 1))
        assert not settings.is_before_cut_off(date(2026, 4, 2))
        assert not SyncSettings().is_before_cut_off(date(1999, 1, 1))


class TestChecksAgainstTheFirmsFacts:
    def test_a_cut_off_in_the_future_is_an_error(self) -> None:
        settings = SyncSettings(import_transactions_from=date(2026, 6, 1))
        assert check_cut_off(settings, today=date(2026, 5, 31)) == [
            SettingsError(
                "import_transactions_from",
                "2026-06-01 is in the future (today is 2026-05-31); "
                "everything dated until then would be skipped",
            )
        ]
        assert check_cut_off(settings, today=date(2026, 6, 1)) == []

    def test_nominals_must_be_in_the_chart_of_accounts(self) -> None:
        settings = SyncSettings(expense_income_nominal="4150")
        errors = check_nominal_codes(settings, nominal_codes=CHART)
        assert [error.field for error in errors] == ["expense_income_nominal"]
        assert "4150" in errors[0].message

    def test_the_default_client_account_must_be_a_clio_trust_account(self) -> None:
        wrong = SyncSettings(default_client_account_id=7002)
        errors = check_bank_accounts(wrong, bank_accounts=ACCOUNTS)
        assert [error.field for error in errors] == ["default_client_account_id"]
        assert "Trust" in errors[0].message
        right = SyncSettings(default_client_account_id=7001)
        assert check_bank_accounts(right, bank_accounts=ACCOUNTS) == []

    def test_the_disbursement_account_must_be_an_office_account_clio_has(self) -> None:
        trust = SyncSettings(disbursement_bank_account_id=7001)
        missing = SyncSettings(disbursement_bank_account_id=7999)
        assert "Operating" in check_bank_accounts(trust, bank_accounts=ACCOUNTS)[0].message
        assert (
            "no bank account 7999"
            in check_bank_accounts(missing, bank_accounts=ACCOUNTS)[0].message
        )

    def test_every_error_is_reported_at_once(self) -> None:
        settings = SyncSettings(
            import_transactions_from=date(2027, 1, 1),
            default_fee_nominal="9999",
            default_client_account_id=7002,
        )
        errors = settings_errors(
            settings, today=date(2026, 5, 1), nominal_codes=CHART, bank_accounts=ACCOUNTS
        )
        assert [error.field for error in errors] == [
            "import_transactions_from",
            "default_fee_nominal",
            "default_client_account_id",
        ]

    def test_good_settings_have_no_errors(self) -> None:
        settings = SyncSettings(
            import_transactions_from=date(2026, 3, 31),
            default_client_account_id=7001,
            disbursement_bank_account_id=7002,
        )
        assert (
            settings_errors(
                settings, today=date(2026, 5, 1), nominal_codes=CHART, bank_accounts=ACCOUNTS
            )
            == []
        )

"""A late client account reconciliation, named by the date it was due, and the jurisdiction a
firm is presumed to be in."""

from datetime import date

import pytest

from cashroom_contracts.events.common import AccountKind
from cashroom_reconciliation.domain import (
    Jurisdiction,
    LateReconciliation,
    code_of,
    default_jurisdiction_code,
    jurisdiction_of,
    late_reconciliation,
)


def test_the_overdue_period_is_named_by_its_due_date_which_moves_only_with_a_signing() -> None:
    def late(today: date, last: date | None = None) -> LateReconciliation | None:
        return late_reconciliation(
            bank_account_id=7002,
            account_kind=AccountKind.CLIENT,
            jurisdiction=Jurisdiction.ENGLAND_AND_WALES,
            last_reconciled_on=last,
            opened_on=date(2025, 1, 6),
            today=today,
        )

    assert late(date(2025, 2, 10)) is None  # 6 January + 35 days: due that day, not late
    first, later = late(date(2025, 2, 11)), late(date(2025, 3, 30))
    assert first is not None and later is not None
    assert first.dedupe_key == later.dedupe_key == "late_reconciliation:7002:2025-02-10"
    assert first.days_overdue == 1
    after_signing = late(date(2025, 4, 5), last=date(2025, 2, 28))
    assert after_signing is not None
    assert after_signing.due_by == date(2025, 4, 4)
    assert "last reconciled as of 2025-02-28" in after_signing.detail


def test_office_accounts_are_never_late() -> None:
    assert (
        late_reconciliation(
            bank_account_id=7001,
            account_kind=AccountKind.OFFICE,
            jurisdiction=Jurisdiction.IRELAND,
            last_reconciled_on=None,
            opened_on=date(2020, 1, 1),
            today=date(2025, 1, 1),
        )
        is None
    )


def test_jurisdiction_codes_and_the_default_from_the_currency() -> None:
    assert [default_jurisdiction_code(c) for c in ("GBP", "EUR", "USD", "CHF", None)] == [
        "ew",
        "ie",
        "us",
        None,
        None,
    ]
    assert jurisdiction_of("ie") is Jurisdiction.IRELAND
    assert code_of(Jurisdiction.UNITED_STATES) == "us"
    with pytest.raises(ValueError, match="ie, ew, us"):
        jurisdiction_of("fr")

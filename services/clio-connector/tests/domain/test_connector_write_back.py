"""Corrections to a disbursement, written back to Clio only when the firm allows it."""

from __future__ import annotations

import pytest

from cashroom_contracts.events.common import VatTreatment
from clio_connector.domain.settings import SyncSettings
from clio_connector.domain.write_back import WriteBackRefused, disbursement_correction

ALLOWED = SyncSettings(allow_updating_disbursements_in_clio=True)


def test_nothing_is_written_back_unless_the_firm_allows_it() -> None:
    with pytest.raises(WriteBackRefused, match="do not allow"):
        disbursement_correction(SyncSettings(), vat_treatment=VatTreatment.OUTSIDE_SCOPE)


@pytest.mark.parametrize(
    ("treatment", "tax_setting"),
    [
        (VatTreatment.OUTSIDE_SCOPE, "no_tax"),
        (VatTreatment.EXEMPT, "no_tax"),
        (VatTreatment.ZERO_RATED, "no_tax"),
        (VatTreatment.STANDARD, "tax_1_only"),
    ],
)
def test_a_vat_decision_becomes_clios_tax_setting(
    treatment: VatTreatment, tax_setting: str
) -> None:
    assert disbursement_correction(ALLOWED, vat_treatment=treatment) == {"tax_setting": tax_setting}


def test_under_review_is_not_a_decision() -> None:
    with pytest.raises(WriteBackRefused, match="under_review"):
        disbursement_correction(ALLOWED, vat_treatment=VatTreatment.UNDER_REVIEW)


def test_a_vendor_and_reference_are_written_as_clio_names_them() -> None:
    assert disbursement_correction(ALLOWED, vendor_id=1840099001, reference="CHQ 001235") == {
        "vendor": {"id": 1840099001},
        "reference": "CHQ 001235",
    }


def test_an_empty_correction_is_refused() -> None:
    with pytest.raises(WriteBackRefused, match="nothing"):
        disbursement_correction(ALLOWED)

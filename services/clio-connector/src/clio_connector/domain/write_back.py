"""What the connector may write back to Clio when a cashier corrects a disbursement in the sync
log ("allow updating disbursements in Clio"). Pure: the caller PATCHes it with the etag it read
(``ClioClient.patch_activity(..., if_match=etag)``) and compares what Clio returns."""

from __future__ import annotations

from typing import Any

from cashroom_contracts.events.common import VatTreatment
from clio_connector.domain.settings import SyncSettings

# Clio knows only whether an expense carries its account's tax 1, tax 2, both or none.
_TAX_SETTING = {
    VatTreatment.STANDARD: "tax_1_only",
    VatTreatment.ZERO_RATED: "no_tax",
    VatTreatment.EXEMPT: "no_tax",
    VatTreatment.OUTSIDE_SCOPE: "no_tax",
}


class WriteBackRefused(ValueError):
    """The correction cannot be written to Clio (the settings forbid it, or Clio cannot say it)."""


def disbursement_correction(
    settings: SyncSettings,
    *,
    vat_treatment: VatTreatment | None = None,
    vendor_id: int | None = None,
    reference: str | None = None,
) -> dict[str, Any]:
    """The fields of a Clio expense entry that carry a cashier's correction.

    ``vat_treatment`` becomes Clio's ``tax_setting``, ``vendor_id`` the entry's vendor (a Clio
    contact) and ``reference`` its cheque or payment reference.
    """
    if not settings.allow_updating_disbursements_in_clio:
        raise WriteBackRefused("the sync settings do not allow updating disbursements in Clio")
    changes: dict[str, Any] = {}
    if vat_treatment is not None:
        if vat_treatment not in _TAX_SETTING:
            raise WriteBackRefused(f"Clio has no tax setting for {vat_treatment.value}")
        changes["tax_setting"] = _TAX_SETTING[vat_treatment]
    if vendor_id is not None:
        changes["vendor"] = {"id": vendor_id}
    if reference is not None:
        changes["reference"] = reference
    if not changes:
        raise WriteBackRefused("nothing to write back")
    return changes

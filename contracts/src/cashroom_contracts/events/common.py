"""Building blocks shared by event payloads."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from cashroom_contracts.money import Money


class Part(BaseModel):
    """A frozen, strict building block of a payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ClioSource(Part):
    """Which Clio record (and which version of it) an event was derived from."""

    object_type: str = Field(description="Clio resource, e.g. Bill, Activity, BankTransaction.")
    object_id: int = Field(description="Clio id of the record.")
    version: str = Field(
        min_length=1,
        description="Clio etag, or a content hash where Clio has none; a new version is an edit.",
    )


class AccountKind(StrEnum):
    """Office (firm) money or client (trust) money."""

    OFFICE = "office"
    CLIENT = "client"


class VatTreatment(StrEnum):
    """How VAT applies to a line."""

    STANDARD = "standard"  # VAT charged at the line's rate (fees, recharges, principal costs)
    ZERO_RATED = "zero_rated"
    EXEMPT = "exempt"
    OUTSIDE_SCOPE = "outside_scope"  # a disbursement paid as the client's agent: no VAT
    UNDER_REVIEW = "under_review"  # the firm asked to review VAT on disbursements: held


class VatAmount(Part):
    """VAT on a line: the rate (basis points: 2300 = 23%) and the amount."""

    rate_basis_points: int = Field(ge=0, le=10_000)
    amount: Money


__all__ = ["AccountKind", "ClioSource", "Money", "Part", "VatAmount", "VatTreatment"]

"""VAT returns from the VAT tags the ledger puts on its lines (§3.10, I-12).

The ledger tags each line that feeds a return (``JournalLine.vat_code``): net sales and purchases
by rate, output and input VAT, and ``outside_scope`` for disbursements paid as the client's agent,
which are not the firm's supply and are left out of every box. A tag this module does not know is
never dropped: the return lists it as unclassified and its check fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from cashroom_reporting.domain.postings import ZERO, Movement


class VatTag(StrEnum):
    """The ledger's VAT tags (services/ledger .../domain/journals.py ``VatTag``), plus the EU and
    Northern Ireland goods tags a law firm rarely needs."""

    SALES_STANDARD = "sales_standard"
    SALES_ZERO_RATED = "sales_zero_rated"
    SALES_EXEMPT = "sales_exempt"
    OUTPUT_VAT = "output_vat"
    PURCHASES_STANDARD = "purchases_standard"
    PURCHASES_ZERO_RATED = "purchases_zero_rated"
    PURCHASES_EXEMPT = "purchases_exempt"
    INPUT_VAT = "input_vat"
    OUTSIDE_SCOPE = "outside_scope"
    ACQUISITION_VAT = "acquisition_vat"  # VAT due on goods acquired from the EU (UK box 2)
    SALES_EU_GOODS = "sales_eu_goods"  # UK box 8 (NI to EU), IE E1
    ACQUISITIONS_EU_GOODS = "acquisitions_eu_goods"  # UK box 9 (EU to NI), IE E2
    SALES_EU_SERVICES = "sales_eu_services"  # IE ES1
    PURCHASES_EU_SERVICES = "purchases_eu_services"  # IE ES2


SALES_NET = (VatTag.SALES_STANDARD, VatTag.SALES_ZERO_RATED, VatTag.SALES_EXEMPT)
PURCHASES_NET = (VatTag.PURCHASES_STANDARD, VatTag.PURCHASES_ZERO_RATED, VatTag.PURCHASES_EXEMPT)


class Scheme(StrEnum):
    UK = "uk"
    IE = "ie"

    @property
    def label(self) -> str:
        return "UK 9-box return" if self is Scheme.UK else "Irish VAT3"


class Jurisdiction(StrEnum):
    """Where the firm practises (the ledger's chart template: ``ie`` or ``ew``)."""

    IRELAND = "ie"
    ENGLAND_AND_WALES = "ew"


SCHEME_OF = {Jurisdiction.IRELAND: Scheme.IE, Jurisdiction.ENGLAND_AND_WALES: Scheme.UK}
JURISDICTION_NAMES = {
    Jurisdiction.IRELAND: "Ireland",
    Jurisdiction.ENGLAND_AND_WALES: "England and Wales",
}
CURRENCY_JURISDICTION = {"EUR": Jurisdiction.IRELAND, "GBP": Jurisdiction.ENGLAND_AND_WALES}
"""The ledger's two chart templates keep their books in these currencies."""


@dataclass(frozen=True, slots=True)
class SchemeChoice:
    scheme: Scheme
    basis: str
    """Why this scheme: asked for, or the firm's jurisdiction and how it is known."""
    note: str | None = None
    """Said on the return when the scheme asked for is not the firm's own."""


def firm_jurisdiction(
    profile: Jurisdiction | None, books_currency: str | None
) -> tuple[Jurisdiction | None, str]:
    """The firm's jurisdiction and how it is known: from the firm profile, else the one its
    books currency stands for (EUR: Ireland, GBP: England and Wales), else not known."""
    if profile is not None:
        return profile, f"the firm's jurisdiction ({JURISDICTION_NAMES[profile]})"
    if books_currency in CURRENCY_JURISDICTION:
        inferred = CURRENCY_JURISDICTION[books_currency]
        return inferred, f"the firm's books in {books_currency} ({JURISDICTION_NAMES[inferred]})"
    return None, "no jurisdiction known for the firm"


def choose_scheme(
    asked: Scheme | None, jurisdiction: Jurisdiction | None, books_currency: str | None
) -> SchemeChoice:
    """The scheme asked for wins; else the firm's (``firm_jurisdiction``), else the UK return,
    saying so."""
    known, why = firm_jurisdiction(jurisdiction, books_currency)
    own = SCHEME_OF[known] if known is not None else None
    if asked is None:
        return SchemeChoice(own or Scheme.UK, f"default: {why}")
    note = None
    if own is not None and asked is not own:
        note = (
            f"The {asked.label} was asked for; by {why} this firm's return would be the "
            f"{own.label}."
        )
    return SchemeChoice(asked, "asked for (scheme=" + asked.value + ")", note)


@dataclass(frozen=True, slots=True)
class TagTotals:
    """The period's movements per VAT tag (one currency)."""

    by_tag: Mapping[str, Movement]

    def credit_net(self, *tags: VatTag) -> int:
        """Credits less debits: sales and output VAT."""
        return -sum((self.by_tag.get(t, ZERO).net for t in tags), 0)

    def debit_net(self, *tags: VatTag) -> int:
        """Debits less credits: purchases and input VAT."""
        return sum((self.by_tag.get(t, ZERO).net for t in tags), 0)

    def unclassified(self) -> dict[str, Movement]:
        known = {t.value for t in VatTag}
        return {tag: m for tag, m in sorted(self.by_tag.items()) if tag not in known}


def whole_units(amount_minor: int, exponent: int = 2) -> int:
    """Pence dropped (towards zero), as HMRC asks for boxes 6 to 9."""
    scale = 10**exponent
    return int(amount_minor / scale) if amount_minor >= 0 else -int(-amount_minor / scale)


@dataclass(frozen=True, slots=True)
class UkReturn:
    box1: int
    box2: int
    box3: int
    box4: int
    box5: int
    box5_payable: bool
    box6: int  # whole units
    box7: int
    box8: int
    box9: int
    box6_exact: int
    box7_exact: int
    outside_scope_sales: int
    outside_scope_purchases: int


def uk_return(totals: TagTotals, exponent: int = 2) -> UkReturn:
    """HMRC's nine boxes; boxes 1-5 in minor units, 6-9 in whole pounds."""
    box1 = totals.credit_net(VatTag.OUTPUT_VAT)
    box2 = totals.credit_net(VatTag.ACQUISITION_VAT)
    box3 = box1 + box2
    box4 = totals.debit_net(VatTag.INPUT_VAT)
    box6_exact = totals.credit_net(*SALES_NET, VatTag.SALES_EU_GOODS)
    box7_exact = totals.debit_net(*PURCHASES_NET, VatTag.ACQUISITIONS_EU_GOODS)
    outside = totals.by_tag.get(VatTag.OUTSIDE_SCOPE, ZERO)
    return UkReturn(
        box1=box1,
        box2=box2,
        box3=box3,
        box4=box4,
        box5=abs(box3 - box4),
        box5_payable=box3 >= box4,
        box6=whole_units(box6_exact, exponent),
        box7=whole_units(box7_exact, exponent),
        box8=whole_units(totals.credit_net(VatTag.SALES_EU_GOODS), exponent),
        box9=whole_units(totals.debit_net(VatTag.ACQUISITIONS_EU_GOODS), exponent),
        box6_exact=box6_exact,
        box7_exact=box7_exact,
        outside_scope_sales=outside.credit,
        outside_scope_purchases=outside.debit,
    )


@dataclass(frozen=True, slots=True)
class IrishVat3:
    t1: int  # VAT on sales (and on EU acquisitions)
    t2: int  # VAT on purchases
    t3: int  # net payable
    t4: int  # net repayable
    e1: int  # goods to other EU states
    e2: int  # goods from other EU states
    es1: int  # services to other EU states
    es2: int  # services from other EU states
    outside_scope_sales: int
    outside_scope_purchases: int


def irish_vat3(totals: TagTotals) -> IrishVat3:
    t1 = totals.credit_net(VatTag.OUTPUT_VAT, VatTag.ACQUISITION_VAT)
    t2 = totals.debit_net(VatTag.INPUT_VAT)
    outside = totals.by_tag.get(VatTag.OUTSIDE_SCOPE, ZERO)
    return IrishVat3(
        t1=t1,
        t2=t2,
        t3=max(t1 - t2, 0),
        t4=max(t2 - t1, 0),
        e1=totals.credit_net(VatTag.SALES_EU_GOODS),
        e2=totals.debit_net(VatTag.ACQUISITIONS_EU_GOODS),
        es1=totals.credit_net(VatTag.SALES_EU_SERVICES),
        es2=totals.debit_net(VatTag.PURCHASES_EU_SERVICES),
        outside_scope_sales=outside.credit,
        outside_scope_purchases=outside.debit,
    )

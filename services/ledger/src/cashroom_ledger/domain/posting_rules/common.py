"""Checks every posting rule makes, in one order: what can never post is rejected first (amounts,
currencies, VAT that does not add up), then what cannot post *yet* is held (VAT under review, a
bank account or matter that has not arrived)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from cashroom_contracts.events.clio import ClioEvent
from cashroom_contracts.events.common import AccountKind, VatAmount, VatTreatment
from cashroom_contracts.events.ledger import ExceptionKind
from cashroom_contracts.money import Money
from cashroom_ledger.domain.decisions import (
    OFFICE_ACCOUNT,
    Decision,
    Hold,
    HoldReason,
    LedgerView,
    Refer,
    Reject,
    RejectReason,
    WaitFor,
)
from cashroom_ledger.domain.journals import VatTag
from cashroom_ledger.domain.reference import BankAccount, Matter

NO_EXCEPTIONS_ALLOWED: frozenset[ExceptionKind] = frozenset()


class Stop(Exception):
    """Raised inside a rule to return a hold, rejection or referral from deep in its checks."""

    def __init__(self, decision: Hold | Reject | Refer) -> None:
        super().__init__(decision)
        self.decision = decision


P = ParamSpec("P")
E = TypeVar("E")


def rule(
    fn: Callable[Concatenate[E, LedgerView, P], Decision],
) -> Callable[Concatenate[E, LedgerView, P], Decision]:
    """Turn ``Stop`` raised by the checks into the rule's decision."""

    @functools.wraps(fn)
    def decide(subject: E, view: LedgerView, /, *args: P.args, **kwargs: P.kwargs) -> Decision:
        try:
            return fn(subject, view, *args, **kwargs)
        except Stop as stop:
            return stop.decision

    return decide


def reject(code: RejectReason, reason: str) -> Stop:
    return Stop(Reject(code, reason))


def hold(code: HoldReason, reason: str, *waiting_for: WaitFor) -> Stop:
    return Stop(Hold(code, reason, waiting_for))


def firm_amount(view: LedgerView, amount: Money, what: str) -> Money:
    """A positive amount in the firm's currency."""
    in_currency(view, amount, what)
    if not amount.is_positive():
        raise reject(
            RejectReason.AMOUNT_NOT_POSITIVE, f"{what} must be more than zero, not {amount}"
        )
    return amount


def in_currency(view: LedgerView, amount: Money, what: str) -> None:
    currency = view.chart.currency
    if amount.currency != currency:
        raise reject(
            RejectReason.CURRENCY_MISMATCH,
            f"{what} is in {amount.currency}; the firm's books are kept in {currency}",
        )


def vat_amount(view: LedgerView, treatment: VatTreatment, vat: VatAmount, what: str) -> Money:
    """The VAT on a disbursement or purchase, checked against its treatment.

    Only a standard-rated supply carries VAT; an agent's disbursement (outside scope), a zero-rated
    or an exempt supply carries none. A disbursement still under the cashier's VAT review holds.
    """
    in_currency(view, vat.amount, f"the VAT on {what}")
    if vat.amount.amount_minor < 0:
        raise reject(
            RejectReason.AMOUNT_NOT_POSITIVE, f"the VAT on {what} is negative ({vat.amount})"
        )
    if treatment is VatTreatment.UNDER_REVIEW:
        raise hold(
            HoldReason.VAT_UNDER_REVIEW,
            f"the VAT treatment of {what} is under the cashier's review; it posts when the "
            "reviewed version arrives",
        )
    if treatment is not VatTreatment.STANDARD and not vat.amount.is_zero():
        raise reject(
            RejectReason.VAT_INCONSISTENT,
            f"{what} is {treatment.value} but carries VAT of {vat.amount}",
        )
    return vat.amount


def bank_account(
    view: LedgerView, bank_account_id: int, kind: AccountKind, amount: Money, what: str
) -> BankAccount:
    """A known bank account of the right kind that holds the amount's currency."""
    bank = view.bank_account(bank_account_id)
    if bank is None:
        raise hold(
            HoldReason.BANK_ACCOUNT_UNKNOWN,
            f"bank account {bank_account_id} has not arrived from Clio yet",
            WaitFor.bank_account(bank_account_id),
        )
    if bank.kind is not kind:
        raise reject(
            RejectReason.WRONG_ACCOUNT_KIND,
            f"{what} needs a {kind.value} account, but it names the {bank.label}",
        )
    if bank.currency != amount.currency:
        raise reject(
            RejectReason.CURRENCY_MISMATCH,
            f"{what} is in {amount.currency} but {bank.label} holds {bank.currency}",
        )
    return bank


def office_account(
    view: LedgerView, bank_account_id: int | None, amount: Money, what: str
) -> BankAccount:
    """The office account named, or the firm's default office account."""
    if bank_account_id is not None:
        return bank_account(view, bank_account_id, AccountKind.OFFICE, amount, what)
    default = view.default_office_account()
    if default is None:
        raise hold(
            HoldReason.NO_OFFICE_ACCOUNT,
            f"{what} names no office account and the firm has no default office account",
            OFFICE_ACCOUNT,
        )
    return bank_account(view, default.bank_account_id, AccountKind.OFFICE, amount, what)


def ready_matter(view: LedgerView, matter_id: int) -> Matter:
    """A matter whose ledger can take postings: it and its client are known (SRA 8.1(a))."""
    matter = view.matter(matter_id)
    if matter is None:
        raise hold(
            HoldReason.MATTER_UNKNOWN,
            f"matter {matter_id} has not arrived from Clio yet",
            WaitFor.matter(matter_id),
        )
    if view.client(matter.client_id) is None:
        raise hold(
            HoldReason.MATTER_UNKNOWN,
            f"the client ({matter.client_id}) of matter {matter.reference} has not arrived from "
            "Clio yet; a client ledger needs the client's name",
            WaitFor.matter(matter_id),
        )
    return matter


SALE_TAGS: dict[VatTreatment, VatTag] = {
    VatTreatment.STANDARD: VatTag.SALES_STANDARD,
    VatTreatment.ZERO_RATED: VatTag.SALES_ZERO_RATED,
    VatTreatment.EXEMPT: VatTag.SALES_EXEMPT,
    VatTreatment.OUTSIDE_SCOPE: VatTag.OUTSIDE_SCOPE,
}

PURCHASE_TAGS: dict[VatTreatment, VatTag] = {
    VatTreatment.STANDARD: VatTag.PURCHASES_STANDARD,
    VatTreatment.ZERO_RATED: VatTag.PURCHASES_ZERO_RATED,
    VatTreatment.EXEMPT: VatTag.PURCHASES_EXEMPT,
    VatTreatment.OUTSIDE_SCOPE: VatTag.OUTSIDE_SCOPE,
}


def money(amount_minor: int, currency: str) -> Money:
    return Money(amount_minor=amount_minor, currency=currency)


def source_of(event: ClioEvent) -> str:
    """How a narrative names the Clio record, e.g. ``Clio Bill 5550012``."""
    return f"Clio {event.source.object_type} {event.source.object_id}"

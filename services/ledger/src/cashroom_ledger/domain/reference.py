"""Reference data mirrored from Clio: clients, matters and the firm's bank accounts.

None of these post anything. A matter (and its client) must be known before anything posts to
its client ledger (SRA 8.1(a): a ledger is identified by the client's name and the matter's
description), and a bank account must be known, with its nominal, before its cashbook moves.
"""

from __future__ import annotations

from dataclasses import dataclass

from cashroom_contracts.events.common import AccountKind


@dataclass(frozen=True, slots=True)
class Client:
    client_id: int
    name: str


@dataclass(frozen=True, slots=True)
class Matter:
    """A matter: one client ledger, with an office column and a client column."""

    matter_id: int
    client_id: int
    reference: str
    description: str


@dataclass(frozen=True, slots=True)
class BankAccount:
    """An office or client bank account (Clio's id), tied to its nominal in the chart."""

    bank_account_id: int
    name: str
    kind: AccountKind
    currency: str
    nominal_code: str

    @property
    def label(self) -> str:
        return f"{self.kind.value} account {self.name!r} ({self.bank_account_id})"

"""Consuming ``clio.events.v1`` and ``reconciliation.events.v1`` a batch at a time.

The ledger needs a batch as a whole: to prefetch what all its events name in a dozen queries,
decide each event in memory, and write the postings in bulk at the end. It therefore gives the
chassis's ``EventConsumer`` a batch handler, ``handle_envelopes``: the chassis records the
batch's event ids in the inbox in one statement and hands over the first deliveries, in order;
``handle_envelopes`` runs them through the books and stages the ledger events in the outbox; the
chassis commits and then acknowledges the offsets.

If the batch fails, the chassis's own path takes over unchanged: each event alone, retried, then
dead-lettered — ``handle_envelopes`` with a batch of one.
"""

from __future__ import annotations

from collections.abc import Sequence

from cashroom_chassis.db import UnitOfWork
from cashroom_contracts.envelope import Envelope, EventPayload, registered_payloads
from cashroom_contracts.events.clio import ClioEvent
from cashroom_contracts.events.reconciliation import ReconciliationSigned
from cashroom_ledger.db.books import Books
from cashroom_ledger.handlers import handle_batch

LEDGER_INPUTS = (
    *(name for name, model in registered_payloads().items() if issubclass(model, ClioEvent)),
    ReconciliationSigned.event_type,
)
"""What the ledger posts from: every Clio record's event and a signed reconciliation (which
locks the period). The rest of its topics (a sync's completion, statements imported, breaches
found by reconciliation) the consumer passes over unread."""


async def handle_envelopes(uow: UnitOfWork, envelopes: Sequence[Envelope[EventPayload]]) -> None:
    """Apply events in the unit of work: the books in one pass, the ledger events they imply
    staged in the outbox."""
    if not envelopes:
        return
    await uow.session.run_sync(lambda session: handle_batch(Books(session), envelopes))

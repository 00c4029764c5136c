"""Staging ledger events in the chassis's outbox with ``COPY``, inside the books' transaction.

The rows are the chassis's own (``cashroom_chassis.outbox.outbox_rows``); only the way in
differs: the books run synchronously on the transaction's asyncpg connection (see
``db.connection``), where a ``COPY`` is the cheapest statement for the two or three events each
Clio event implies. The chassis's relay publishes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cashroom_chassis.messaging_tables import OUTBOX
from cashroom_chassis.outbox import OUTBOX_COLUMNS, outbox_rows
from cashroom_contracts.envelope import Envelope
from cashroom_ledger.db.connection import Connection


def stage(db: Connection, envelopes: Sequence[Envelope[Any]]) -> int:
    """Stage ``envelopes`` for publishing in the open transaction; how many were staged."""
    rows = outbox_rows(envelopes)
    db.copy(OUTBOX.name, OUTBOX_COLUMNS, rows)
    return len(rows)

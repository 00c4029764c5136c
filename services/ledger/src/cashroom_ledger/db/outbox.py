"""Staging ledger events in the chassis's outbox with ``COPY``, inside the books' transaction.

The rows are exactly those ``cashroom_chassis.outbox.add_to_outbox`` writes (event id, topic,
firm as the key, the encoded envelope, the trace headers and event type); the chassis's relay
publishes them. ``add_to_outbox`` inserts row by row through SQLAlchemy, which at the ledger's
volume (two or three events per Clio event) cost more than the postings themselves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cashroom_chassis.messaging_tables import OUTBOX
from cashroom_chassis.outbox import trace_headers
from cashroom_contracts.envelope import Envelope, encode_event
from cashroom_ledger.db.connection import Connection

COLUMNS = ("event_id", "topic", "key", "payload", "headers")
assert all(name in OUTBOX.c for name in COLUMNS)


def stage(db: Connection, envelopes: Sequence[Envelope[Any]]) -> int:
    """Stage ``envelopes`` for publishing in the open transaction; how many were staged."""
    if not envelopes:
        return 0
    context = json.dumps(trace_headers())  # the same for every event of one batch
    opening = context[:-1] + (", " if context != "{}" else "")
    rows = [
        (
            envelope.id,
            envelope.data.topic,
            envelope.firm_id,
            encode_event(envelope),
            f'{opening}"event_type": {json.dumps(envelope.type)}}}',
        )
        for envelope in envelopes
    ]
    db.copy(OUTBOX.name, COLUMNS, rows)
    return len(rows)

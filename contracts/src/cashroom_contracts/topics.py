"""Topic names. Key = firm id, so one firm's events stay in order."""

from typing import Final

CLIO_EVENTS: Final = "clio.events.v1"
LEDGER_EVENTS: Final = "ledger.events.v1"
RECONCILIATION_EVENTS: Final = "reconciliation.events.v1"

ALL_TOPICS: Final = (CLIO_EVENTS, LEDGER_EVENTS, RECONCILIATION_EVENTS)


def dead_letter_topic(topic: str) -> str:
    """The dead-letter twin of a topic: where an event goes after its last failed attempt."""
    return f"{topic}.dlq"


ALL_TOPICS_WITH_DLQ: Final = tuple(
    t for topic in ALL_TOPICS for t in (topic, dead_letter_topic(topic))
)

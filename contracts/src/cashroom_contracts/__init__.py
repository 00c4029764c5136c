"""Cashroom's shared message contracts: the envelope, money, topics and every event payload."""

from cashroom_contracts.envelope import (
    ContractViolation,
    Envelope,
    EventPayload,
    RawEnvelope,
    deterministic_event_id,
    encode_event,
    new_event,
    parse_event,
    registered_payloads,
)
from cashroom_contracts.events import clio, ledger, reconciliation
from cashroom_contracts.money import CurrencyMismatch, Money
from cashroom_contracts.topics import (
    ALL_TOPICS,
    ALL_TOPICS_WITH_DLQ,
    CLIO_EVENTS,
    LEDGER_EVENTS,
    RECONCILIATION_EVENTS,
    dead_letter_topic,
)

__all__ = [
    "ALL_TOPICS",
    "ALL_TOPICS_WITH_DLQ",
    "CLIO_EVENTS",
    "LEDGER_EVENTS",
    "RECONCILIATION_EVENTS",
    "ContractViolation",
    "CurrencyMismatch",
    "Envelope",
    "EventPayload",
    "Money",
    "RawEnvelope",
    "clio",
    "dead_letter_topic",
    "deterministic_event_id",
    "encode_event",
    "ledger",
    "new_event",
    "parse_event",
    "reconciliation",
    "registered_payloads",
]

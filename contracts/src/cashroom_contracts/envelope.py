"""The one envelope every event travels in (close to CloudEvents), and the registry of payloads.

An event on the bus is a JSON object::

    {"id": ..., "type": "clio.bill.approved", "source": ..., "subject": ..., "time": ...,
     "firm_id": ..., "schema_version": 1, "correlation_id": ..., "causation_id": ...,
     "data": {...}}

``data`` is validated against the payload model registered for ``type``. Trace context does not
travel here: it rides in the Kafka headers (W3C ``traceparent``).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError

# A fixed namespace so that event ids derived from the same facts are the same on every machine.
EVENT_ID_NAMESPACE = uuid.UUID("5b0c64ae-6f7a-4c61-9d4b-6f2b1c1a7e01")


class EventPayload(BaseModel):
    """Base of every event payload. Subclasses set ``event_type`` and ``topic``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    topic: ClassVar[str]
    schema_version: ClassVar[int] = 1


PayloadT = TypeVar("PayloadT", bound=EventPayload)


class _EnvelopeFields(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: uuid.UUID = Field(description="Unique event id; consumers drop an id they have seen.")
    type: str = Field(description="Event type, e.g. clio.bill.approved.")
    source: str = Field(description="Producing service, e.g. cashroom/clio-connector.")
    subject: str | None = Field(
        default=None, description="What the event is about, e.g. clio/bill/1234."
    )
    time: datetime = Field(description="When the fact happened or was observed (UTC).")
    firm_id: str = Field(min_length=1, max_length=64, description="The firm; also the Kafka key.")
    schema_version: int = Field(default=1, ge=1)
    correlation_id: uuid.UUID | None = Field(
        default=None, description="Shared by every event of one sync run or request."
    )
    causation_id: uuid.UUID | None = Field(
        default=None, description="The id of the event or request that caused this one."
    )


class Envelope(_EnvelopeFields, Generic[PayloadT]):
    """One event: who it concerns (firm), what happened (type + data), and where it came from."""

    data: SerializeAsAny[PayloadT]


class RawEnvelope(_EnvelopeFields):
    """An envelope whose ``data`` has not been validated against its contract yet."""

    data: dict[str, Any]


_REGISTRY: dict[str, type[EventPayload]] = {}


def register(payload_cls: type[PayloadT]) -> type[PayloadT]:
    """Class decorator: make a payload known to ``parse_event`` and the AsyncAPI document."""
    existing = _REGISTRY.get(payload_cls.event_type)
    if existing is not None and existing is not payload_cls:
        raise ValueError(f"event type {payload_cls.event_type} registered twice")
    _REGISTRY[payload_cls.event_type] = payload_cls
    return payload_cls


def registered_payloads() -> dict[str, type[EventPayload]]:
    """Every known event type and its payload model, sorted by type."""
    return dict(sorted(_REGISTRY.items()))


class UnknownEventType(ValueError):
    """The envelope names a type no contract describes."""


class ContractViolation(ValueError):
    """The bytes on the bus are not a valid event; ``detail`` says why, for the dead-letter topic."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def new_event(
    payload: PayloadT,
    *,
    firm_id: str,
    source: str,
    subject: str | None = None,
    event_id: uuid.UUID | None = None,
    time: datetime | None = None,
    correlation_id: uuid.UUID | None = None,
    causation_id: uuid.UUID | None = None,
) -> Envelope[PayloadT]:
    return Envelope(
        id=event_id or uuid.uuid4(),
        type=payload.event_type,
        source=source,
        subject=subject,
        time=time or datetime.now(UTC),
        firm_id=firm_id,
        schema_version=payload.schema_version,
        correlation_id=correlation_id,
        causation_id=causation_id,
        data=payload,
    )


def deterministic_event_id(firm_id: str, event_type: str, *parts: object) -> uuid.UUID:
    """Same firm, type and facts (e.g. Clio object type, id and version) → the same id."""
    key = "|".join([firm_id, event_type, *(str(part) for part in parts)])
    return uuid.uuid5(EVENT_ID_NAMESPACE, key)


def encode_event(event: Envelope[Any]) -> bytes:
    return event.model_dump_json().encode()


def parse_event(raw: bytes | str) -> Envelope[EventPayload]:
    """Bytes from the bus → a validated envelope with a typed payload, or ``ContractViolation``.

    The type is read from the bytes first (``encode_event`` writes it second, after the id) and
    the whole event validated in one pass against that type's envelope. Anything else (the
    type elsewhere, an unknown type, an invalid event) takes the two-step path, which validates
    the envelope and then the payload and says which of the two is wrong."""
    data = raw.encode() if isinstance(raw, str) else raw
    found = _TYPE.search(data, 0, _TYPE_WITHIN)
    if found is not None:
        typed = _typed_envelope(found.group(1))
        if typed is not None:
            try:
                event = typed.model_validate_json(data)
            except ValidationError:
                pass  # the two-step path below says what is wrong
            else:
                if event.type == event.data.event_type:
                    return event
    return _parse_in_two_steps(data)


_TYPE = re.compile(rb'"type":"([a-z0-9_.]+)"')
_TYPE_WITHIN = 200  # the id (a UUID) comes first; the type is within the first bytes
_TYPED: dict[bytes, type[Envelope[Any]]] = {}


def _typed_envelope(name: bytes) -> type[Envelope[Any]] | None:
    """The envelope whose ``data`` is the payload registered under ``name`` (made once)."""
    typed = _TYPED.get(name)
    if typed is None:
        payload_cls = _REGISTRY.get(name.decode())
        if payload_cls is None:
            return None
        typed = _TYPED[name] = Envelope[payload_cls]  # type: ignore[valid-type]
    return typed


def _parse_in_two_steps(raw: bytes) -> Envelope[EventPayload]:
    try:
        header = RawEnvelope.model_validate_json(raw)
    except ValidationError as error:
        raise ContractViolation(f"invalid envelope: {_summary(error)}") from error
    payload_cls = _REGISTRY.get(header.type)
    if payload_cls is None:
        raise ContractViolation(f"unknown event type {header.type!r}")
    try:
        data = payload_cls.model_validate(header.data)
    except ValidationError as error:
        raise ContractViolation(f"invalid {header.type} payload: {_summary(error)}") from error
    fields = {name: getattr(header, name) for name in _EnvelopeFields.model_fields}
    return _PARSED(**fields, data=data)


_PARSED = Envelope[EventPayload]


def _summary(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(loc) for loc in item["loc"]) or "(root)"
        parts.append(f"{where}: {item['msg']}")
    more = error.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")

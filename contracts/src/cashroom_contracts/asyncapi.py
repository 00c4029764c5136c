"""Generate the AsyncAPI 3 document for every topic and event from the contracts themselves.

``python -m cashroom_contracts.asyncapi --write docs/asyncapi.yaml`` rewrites the committed
document; ``--check docs/asyncapi.yaml`` exits 1 when it differs from what the code generates.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cashroom_contracts.envelope import Envelope, EventPayload, registered_payloads
from cashroom_contracts.topics import (
    CLIO_EVENTS,
    LEDGER_EVENTS,
    RECONCILIATION_EVENTS,
    dead_letter_topic,
)

# Who publishes each topic and who consumes it (architecture.md §2).
PRODUCERS = {
    CLIO_EVENTS: "clio-connector",
    LEDGER_EVENTS: "ledger",
    RECONCILIATION_EVENTS: "reconciliation",
}
CONSUMERS = {
    CLIO_EVENTS: ["ledger", "reporting"],
    LEDGER_EVENTS: ["clio-connector", "reconciliation", "reporting"],
    RECONCILIATION_EVENTS: ["ledger", "reporting"],
}


def _channel_id(topic: str) -> str:
    return topic.replace(".", "_")


def _message_id(event_type: str) -> str:
    return event_type.replace(".", "_")


def build_document() -> dict[str, Any]:
    payloads = registered_payloads()
    envelopes: list[tuple[type[BaseModel], Literal["serialization"]]] = [
        (Envelope[payload_cls], "serialization")  # type: ignore[valid-type]
        for payload_cls in payloads.values()
    ]
    keys, definitions = models_json_schema(envelopes, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = dict(sorted(definitions.get("$defs", {}).items()))

    messages: dict[str, Any] = {}
    by_topic: dict[str, list[str]] = {topic: [] for topic in PRODUCERS}
    for (event_type, payload_cls), key in zip(payloads.items(), keys, strict=True):
        envelope_schema = key[1]
        message_id = _message_id(event_type)
        messages[message_id] = {
            "name": event_type,
            "title": payload_cls.__name__,
            "summary": _first_line(payload_cls),
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/KafkaHeaders"},
            "payload": envelope_schema,
            "bindings": {"kafka": {"key": {"type": "string", "description": "firm_id"}}},
        }
        by_topic[payload_cls.topic].append(message_id)

    schemas["KafkaHeaders"] = {
        "type": "object",
        "properties": {
            "traceparent": {"type": "string", "description": "W3C trace context"},
            "tracestate": {"type": "string"},
            "event_type": {"type": "string", "description": "Copy of the envelope type"},
        },
    }
    schemas["DeadLetter"] = {
        "type": "object",
        "description": "The original bytes of a failed event, unchanged; headers carry the error "
        "(x-dlq-error, x-dlq-attempts, x-dlq-original-topic, -partition, -offset, x-dlq-failed-at).",
    }
    messages["dead_letter"] = {
        "name": "dead_letter",
        "title": "DeadLetter",
        "summary": "An event that failed validation or its handler after the last attempt.",
        "contentType": "application/json",
        "payload": {"$ref": "#/components/schemas/DeadLetter"},
    }

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic, message_ids in by_topic.items():
        channel = _channel_id(topic)
        channels[channel] = {
            "address": topic,
            "description": f"Published by {PRODUCERS[topic]}; key = firm_id.",
            "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in message_ids},
        }
        dlq = dead_letter_topic(topic)
        channels[_channel_id(dlq)] = {
            "address": dlq,
            "description": f"Dead letters of {topic}, with the error in the headers.",
            "messages": {"dead_letter": {"$ref": "#/components/messages/dead_letter"}},
        }
        operations[f"{PRODUCERS[topic]}_sends_{channel}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"{PRODUCERS[topic]} publishes through its transactional outbox.",
        }
        for consumer in CONSUMERS[topic]:
            operations[f"{consumer}_receives_{channel}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"{consumer} consumes; offsets are committed after its transaction.",
            }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Cashroom events",
            "version": "1.0.0",
            "description": "Every event Cashroom's services exchange. Generated from "
            "cashroom_contracts; do not edit by hand (make asyncapi).",
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": "${KAFKA_BOOTSTRAP_SERVERS}",
                "protocol": "kafka",
                "description": "Apache Kafka in production, the embedded Tansu broker locally.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _first_line(cls: type[EventPayload]) -> str:
    return (cls.__doc__ or cls.__name__).strip().splitlines()[0]


def render() -> str:
    return yaml.safe_dump(build_document(), sort_keys=False, allow_unicode=True, width=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, help="write the document to this path")
    group.add_argument("--check", type=Path, help="exit 1 if this file differs from the code")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        args.write.write_text(text, encoding="utf-8")
        return 0
    committed = args.check.read_text(encoding="utf-8") if args.check.exists() else ""
    if committed != text:
        print(f"{args.check} is out of date: run `make asyncapi` and commit it", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

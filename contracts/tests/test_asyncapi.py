"""The committed AsyncAPI document is exactly what the contracts generate."""

from pathlib import Path

from cashroom_contracts.asyncapi import build_document, main, render
from cashroom_contracts.envelope import registered_payloads

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


def test_committed_document_matches_the_code() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(), (
        "docs/asyncapi.yaml is out of date: run `make asyncapi` and commit it"
    )


def test_check_mode_fails_on_a_stale_document(tmp_path: Path) -> None:
    stale = tmp_path / "asyncapi.yaml"
    stale.write_text(render().replace("clio.bill.approved", "clio.bill.okayed"), encoding="utf-8")
    assert main(["--check", str(stale)]) == 1
    stale.write_text(render(), encoding="utf-8")
    assert main(["--check", str(stale)]) == 0


def test_every_event_is_a_message_on_its_topic_and_each_topic_has_a_dlq() -> None:
    document = build_document()
    assert document["asyncapi"] == "3.0.0"
    addresses = {channel["address"] for channel in document["channels"].values()}
    for topic in ("clio.events.v1", "ledger.events.v1", "reconciliation.events.v1"):
        assert {topic, topic + ".dlq"} <= addresses
    names = {message["name"] for message in document["components"]["messages"].values()}
    assert set(registered_payloads()) <= names

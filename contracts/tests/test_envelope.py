"""Events round-trip through bytes, get deterministic ids, and bad bytes are named precisely."""

import json
from datetime import date

import pytest

from cashroom_contracts import (
    ContractViolation,
    deterministic_event_id,
    encode_event,
    new_event,
    parse_event,
    registered_payloads,
)
from cashroom_contracts.events.clio import ClientMoneyReceived
from cashroom_contracts.events.common import ClioSource
from cashroom_contracts.money import Money


def _receipt(version: str = "etag-1") -> ClientMoneyReceived:
    return ClientMoneyReceived(
        source=ClioSource(object_type="BankTransaction", object_id=77, version=version),
        transaction_id=77,
        matter_id=12,
        bank_account_id=3,
        received_on=date(2025, 3, 1),
        amount=Money.of("1000.00", "GBP"),
        payer="Siobhán O'Brien",
    )


def test_an_event_survives_the_bus_unchanged() -> None:
    event = new_event(_receipt(), firm_id="firm-a", source="cashroom/clio-connector")
    parsed = parse_event(encode_event(event))
    assert parsed == event
    assert isinstance(parsed.data, ClientMoneyReceived)
    assert parsed.data.amount == Money(amount_minor=100000, currency="GBP")
    assert parsed.data.payer == "Siobhán O'Brien"


def test_the_same_clio_state_gives_the_same_event_id() -> None:
    first = deterministic_event_id(
        "firm-a", "clio.client_money.received", "BankTransaction", 77, "e1"
    )
    again = deterministic_event_id(
        "firm-a", "clio.client_money.received", "BankTransaction", 77, "e1"
    )
    edited = deterministic_event_id(
        "firm-a", "clio.client_money.received", "BankTransaction", 77, "e2"
    )
    other_firm = deterministic_event_id(
        "firm-b", "clio.client_money.received", "BankTransaction", 77, "e1"
    )
    assert first == again
    assert len({first, edited, other_firm}) == 3


def test_unknown_type_is_a_contract_violation() -> None:
    raw = json.loads(encode_event(new_event(_receipt(), firm_id="f", source="s")))
    raw["type"] = "clio.nonsense"
    with pytest.raises(ContractViolation, match=r"unknown event type 'clio\.nonsense'"):
        parse_event(json.dumps(raw))


def test_a_payload_that_breaks_its_contract_names_the_field() -> None:
    raw = json.loads(encode_event(new_event(_receipt(), firm_id="f", source="s")))
    raw["data"]["amount"] = {"amount_minor": 10.5, "currency": "GBP"}
    with pytest.raises(ContractViolation, match=r"amount\.amount_minor"):
        parse_event(json.dumps(raw))


def test_bytes_that_are_not_json_are_a_contract_violation() -> None:
    with pytest.raises(ContractViolation, match="invalid envelope"):
        parse_event(b"\x00not json")


def test_every_event_type_is_namespaced_by_its_topic() -> None:
    for event_type, payload_cls in registered_payloads().items():
        prefix = event_type.split(".")[0]
        assert payload_cls.topic.startswith(prefix + "."), event_type


def test_an_event_parses_the_same_whatever_the_order_and_spacing_of_its_json() -> None:
    event = new_event(_receipt(), firm_id="firm-a", source="cashroom/clio-connector")
    fields = json.loads(encode_event(event))
    data_first = {"data": fields.pop("data"), **fields}
    for raw in (json.dumps(fields | {"data": data_first["data"]}), json.dumps(data_first)):
        parsed = parse_event(raw)
        assert parsed == event
        assert isinstance(parsed.data, ClientMoneyReceived)


def test_a_type_inside_the_data_is_not_taken_for_the_events_type() -> None:
    # AccountUpserted has a field named "type"; written before the envelope's own type, it must
    # not decide which contract the event is read against.
    from cashroom_contracts.events.ledger import AccountType, AccountUpserted

    nominal = AccountUpserted(
        code="1200", name="Client bank", type=AccountType.ASSET, currency="EUR"
    )
    event = new_event(nominal, firm_id="firm-a", source="cashroom/ledger")
    fields = json.loads(encode_event(event))
    raw = json.dumps({"data": fields.pop("data"), **fields}, separators=(",", ":"))
    assert raw.index('"type":"asset"') < raw.index('"type":"ledger.account.upserted"')
    assert parse_event(raw) == event


def test_a_broken_payload_in_the_form_the_bus_carries_names_the_field() -> None:
    raw = json.loads(encode_event(new_event(_receipt(), firm_id="f", source="s")))
    raw["data"]["amount"] = {"amount_minor": 10.5, "currency": "GBP"}
    compact = json.dumps(raw, separators=(",", ":"), ensure_ascii=False)
    assert compact.startswith('{"id":') and '"type":"clio.client_money.received"' in compact
    with pytest.raises(ContractViolation, match=r"invalid clio\.client_money\.received payload"):
        parse_event(compact.encode())

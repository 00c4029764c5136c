"""Bills' state machine and DELETE semantics, line items, and the control API."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from clio_sandbox import compute_oracle
from clio_sandbox.testing import sandbox, tiny_firm, token


async def _bill(client: httpx.AsyncClient, h: dict[str, str], state: str) -> dict[str, Any]:
    resp = await client.get(
        f"/api/v4/bills?state={state}&type=revenue&fields=id,etag,state,available_state_transitions,total,paid,balance",
        headers=h,
    )
    data: list[dict[str, Any]] = resp.json()["data"]
    assert data, state
    return data[0]


async def _new_bill(client: httpx.AsyncClient, h: dict[str, str]) -> dict[str, Any]:
    matter = (await client.get("/api/v4/matters?status=open&fields=id&limit=1", headers=h)).json()[
        "data"
    ][0]
    await client.post(
        "/_control/time_entries",
        json={"matter_id": matter["id"], "hours": 2, "price": "200.00", "date": "2026-10-01"},
    )
    resp = await client.post(
        "/_control/bills", json={"matter_id": matter["id"], "issued_at": "2026-10-02"}
    )
    assert resp.status_code == 200, resp.text
    bill: dict[str, Any] = resp.json()["data"]
    return bill


async def test_state_machine_and_delete_semantics() -> None:
    async with sandbox() as (client, _):
        h = await token(client)
        assert (await client.post("/api/v4/bills", headers=h, json={"data": {}})).status_code == 405
        bill = await _new_bill(client, h)
        url = f"/api/v4/bills/{bill['id']}.json?fields=id,state,available_state_transitions,total,balance"
        got = (await client.get(url, headers=h)).json()["data"]
        assert got["state"] == "draft"
        assert got["available_state_transitions"] == [
            "awaiting_approval",
            "awaiting_payment",
            "deleted",
        ]
        nope = await client.patch(url, headers=h, json={"data": {"state": "paid"}})
        assert nope.status_code == 422
        step = await client.patch(url, headers=h, json={"data": {"state": "awaiting_approval"}})
        assert step.json()["data"]["state"] == "awaiting_approval"
        step = await client.patch(url, headers=h, json={"data": {"state": "awaiting_payment"}})
        assert step.json()["data"]["available_state_transitions"] == ["void"]
        # DELETE of an approved, unpaid bill voids it and releases its activities
        assert (await client.delete(f"/api/v4/bills/{bill['id']}", headers=h)).status_code == 204
        assert (await client.get(url, headers=h)).json()["data"]["state"] == "void"
        acts = (
            await client.get(
                "/api/v4/activities?fields=id,bill&status=unbilled&limit=200", headers=h
            )
        ).json()["data"]
        assert acts and all(a["bill"] is None for a in acts)
        # DELETE of a draft marks it deleted
        draft = await _new_bill(client, h)
        assert (await client.delete(f"/api/v4/bills/{draft['id']}", headers=h)).status_code == 204
        assert (await client.get(f"/api/v4/bills/{draft['id']}?fields=state", headers=h)).json()[
            "data"
        ]["state"] == "deleted"
        # a paid bill cannot be deleted
        paid = await _bill(client, h, "paid")
        refused = await client.delete(f"/api/v4/bills/{paid['id']}", headers=h)
        assert refused.status_code == 422 and "error" in refused.json()


async def test_payments_partial_and_from_trust_via_control() -> None:
    firm = tiny_firm()
    async with sandbox(firm) as (client, _):
        h = await token(client)
        bill = await _new_bill(client, h)
        await client.post(f"/_control/bills/{bill['id']}/approve")
        part = await client.post(
            "/_control/payments",
            json={
                "bill_id": bill["id"],
                "amount": "100.00",
                "date": "2026-10-03",
                "reference": "EFT-1",
            },
        )
        assert part.status_code == 200
        got = (
            await client.get(
                f"/api/v4/bills/{bill['id']}?fields=state,paid,balance,total", headers=h
            )
        ).json()["data"]
        assert got["state"] == "awaiting_payment" and got["paid"] == 100.0
        matter_id = bill["matters"][0]["id"]
        await client.post(
            "/_control/trust/receipts",
            json={"matter_id": matter_id, "amount": "50000.00", "date": "2026-10-04"},
        )
        rest = got["balance"]
        paid = await client.post(
            "/_control/payments",
            json={
                "bill_id": bill["id"],
                "amount": str(rest),
                "source": "trust",
                "date": "2026-10-05",
            },
        )
        assert paid.status_code == 200, paid.text
        got = (
            await client.get(f"/api/v4/bills/{bill['id']}?fields=state,balance", headers=h)
        ).json()["data"]
        assert got == {"state": "paid", "balance": 0.0}
        allocs = (
            await client.get(
                f"/api/v4/allocations?bill_id={bill['id']}&order=id(asc)&fields=amount,source_bank_account{{type}},parent",
                headers=h,
            )
        ).json()["data"]
        assert [a["source_bank_account"] and a["source_bank_account"]["type"] for a in allocs] == [
            None,
            "Trust",
        ]
        overdraw = await client.post(
            "/_control/trust/payments", json={"matter_id": matter_id, "amount": "99999.00"}
        )
        assert overdraw.status_code == 422
        oracle = compute_oracle(firm)
        assert oracle.check_ties() == []


async def test_edit_after_approval_and_line_items() -> None:
    async with sandbox() as (client, _):
        h = await token(client)
        bill = await _new_bill(client, h)
        await client.post(f"/_control/bills/{bill['id']}/approve")
        before = (
            await client.get(f"/api/v4/bills/{bill['id']}?fields=etag,total,updated_at", headers=h)
        ).json()["data"]
        edited = await client.patch(
            f"/api/v4/bills/{bill['id']}?fields=etag,total,discount",
            headers=h,
            json={"data": {"discount": {"rate": 10, "type": "percentage", "note": "goodwill"}}},
        )
        assert edited.status_code == 200
        after = edited.json()["data"]
        assert after["etag"] != before["etag"] and after["total"] < before["total"]
        resp = await client.get(
            f"/api/v4/line_items?bill_id={bill['id']}&fields=id,sub_total,tax,total,kind", headers=h
        )
        lines = json.loads(resp.text, parse_float=Decimal)["data"]
        assert all(line["total"] == line["sub_total"] + line["tax"] for line in lines)
        patched = await client.patch(
            f"/api/v4/line_items/{lines[0]['id']}?fields=price,sub_total",
            headers=h,
            json={"data": {"price": 150, "update_original_record": True}},
        )
        assert patched.status_code == 200 and patched.json()["data"]["price"] == 150.0


async def test_control_changes_move_the_oracle() -> None:
    firm = tiny_firm()
    async with sandbox(firm) as (client, _):
        before = (await client.get("/_control/oracle")).json()
        matter_id = before["matters"][-1]["matter_id"]
        await client.post(
            "/_control/trust/receipts",
            json={"matter_id": matter_id, "amount": "2500.00", "date": "2026-10-06"},
        )
        await client.post(
            "/_control/expense_entries",
            json={
                "matter_id": matter_id,
                "type": "HardCostEntry",
                "price": "120.00",
                "note": "Court fee",
                "date": "2026-10-06",
            },
        )
        after = (await client.get("/_control/oracle")).json()
        delta = after["totals"]["client_bank_total"] - before["totals"]["client_bank_total"]
        assert delta == 250000
        assert after["totals"]["linked_outlays"] - before["totals"]["linked_outlays"] == 12000
        figures = next(m for m in after["matters"] if m["matter_id"] == matter_id)
        assert figures["unbilled_disbursements"] >= 12000
        vat = await client.get("/_control/oracle?vat_on_disbursements=as_clio&no_cutoff=true")
        assert vat.status_code == 200 and vat.json()["settings"]["cutoff_date"] is None
        lines = (
            await client.get(f"/_control/bank_accounts/{firm.meta.trust_account_ids[0]}/lines")
        ).json()["data"]
        assert lines[-1]["amount"] == 250000
        reset = await client.post("/_control/reset")
        assert reset.status_code == 200
        again = (await client.get("/_control/oracle")).json()
        assert again["totals"] == before["totals"]


async def test_fault_switches() -> None:
    async with sandbox() as (client, _app):
        h = await token(client)
        await client.put("/_control/faults", json={"error_rate": 1.0, "error_statuses": [503]})
        assert (await client.get("/api/v4/matters", headers=h)).status_code == 503
        await client.put("/_control/faults", json={"error_rate": 0.0, "truncate_rate": 1.0})
        cut = await client.get("/api/v4/matters?fields=id,display_number", headers=h)
        assert cut.status_code == 200
        try:
            cut.json()
            raise AssertionError("body should be truncated")
        except ValueError:
            pass
        await client.put("/_control/faults", json={"truncate_rate": 0.0, "rate_limit_storm": 2})
        storm = [await client.get("/api/v4/matters", headers=h) for _ in range(3)]
        assert [r.status_code for r in storm] == [429, 429, 200] and "Retry-After" in storm[
            0
        ].headers
        await client.put("/_control/faults", json={"latency_ms": 30})
        import time

        started = time.monotonic()
        await client.get("/api/v4/matters", headers=h)
        assert time.monotonic() - started >= 0.03
        await client.put("/_control/faults", json={"latency_ms": 0, "expire_tokens_after": 2})
        codes = [(await client.get("/api/v4/matters", headers=h)).status_code for _ in range(3)]
        assert codes == [200, 200, 401]
        h = await token(client)
        await client.put("/_control/faults", json={"change_between_pages": True})
        page1 = (
            await client.get("/api/v4/matters?order=id(asc)&limit=2&fields=id,etag", headers=h)
        ).json()
        again = (
            await client.get(f"/api/v4/matters/{page1['data'][0]['id']}?fields=etag", headers=h)
        ).json()["data"]
        assert again["etag"] != page1["data"][0]["etag"]
        await client.put(
            "/_control/faults",
            json={"change_between_pages": False, "timeout_rate": 1.0, "timeout_seconds": 0.01},
        )
        assert (await client.get("/api/v4/matters", headers=h)).status_code == 504
        bad = await client.put("/_control/faults", json={"error_rate": 5})
        assert bad.status_code == 422

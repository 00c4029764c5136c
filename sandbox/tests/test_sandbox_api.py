"""Clio conventions: envelope, fields, paging, filters, etags, versions, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from clio_sandbox.testing import sandbox, tiny_firm, token


def _synthetic_activities(firm: Any, n: int) -> None:
    base = next(firm.records("activities"))
    stamp = "2026-09-01T10:00:00+01:00"
    records = []
    for i in range(n):
        rec = dict(base)
        rec.update(
            {
                "id": 9_000_000_000 + i,
                "etag": f'"syn{i}"',
                "created_at": stamp,
                "updated_at": stamp,
                "bill": None,
                "billed": False,
                "on_bill": False,
            }
        )
        records.append(rec)
    firm.store.insert_many("activities", records)


async def test_cursor_paging_over_more_than_ten_thousand_records() -> None:
    firm = tiny_firm()
    _synthetic_activities(firm, 10_300)
    total = firm.store.count("activities")
    assert total > 10_000
    async with sandbox(firm) as (client, _):
        headers = await token(client)
        url: str | None = "/api/v4/activities.json?order=id(asc)&limit=200&fields=id"
        seen: list[int] = []
        pages = 0
        while url:
            resp = await client.get(url, headers=headers)
            assert resp.status_code == 200
            body = resp.json()
            seen.extend(r["id"] for r in body["data"])
            url = body["meta"]["paging"].get("next")
            pages += 1
        assert len(seen) == total == len(set(seen))
        assert seen == sorted(seen)
        assert pages == -(-total // 200)


async def test_offset_paging_is_capped_at_ten_thousand() -> None:
    firm = tiny_firm()
    _synthetic_activities(firm, 10_100)
    async with sandbox(firm) as (client, _):
        headers = await token(client)
        ok = await client.get("/api/v4/activities?offset=9800&limit=200&fields=id", headers=headers)
        assert ok.status_code == 200 and len(ok.json()["data"]) == 200
        assert "offset=10000" in ok.json()["meta"]["paging"]["next"]
        over = await client.get("/api/v4/activities?offset=10000&limit=200", headers=headers)
        assert over.status_code == 422
        assert over.json()["error"]["type"] == "ArgumentError"


async def test_default_fields_nested_fields_and_invalid_fields() -> None:
    async with sandbox() as (client, _):
        h = await token(client)
        resp = await client.get("/api/v4/matters?limit=1", headers=h)
        (rec,) = resp.json()["data"]
        assert set(rec) == {"id", "etag"}
        resp = await client.get(
            "/api/v4/bills?limit=1&fields=id,total,matters{id,display_number},client", headers=h
        )
        rec = resp.json()["data"][0]
        assert set(rec["matters"][0]) == {"id", "display_number"}
        assert set(rec["client"]) == {"id", "etag"}
        for bad in (
            "id,nonsense",
            "id,matters{id,client{id}}",
            "total{id}",
            "id,matters{nope}",
            "id,{",
        ):
            resp = await client.get(f"/api/v4/bills?fields={bad}", headers=h)
            assert resp.status_code == 400, bad
            assert resp.json()["error"]["type"] == "InvalidFields"
        # activities use note, not description
        resp = await client.get("/api/v4/activities?fields=id,description", headers=h)
        assert resp.status_code == 400


async def test_money_is_a_json_number_with_decimals_never_a_float() -> None:
    async with sandbox() as (client, _):
        h = await token(client)
        resp = await client.get(
            "/api/v4/bills?fields=id,total,sub_total,tax_sum,paid,balance", headers=h
        )
        text = resp.text
        data = json.loads(text, parse_float=Decimal)["data"]
        for bill in data:
            assert isinstance(bill["total"], Decimal)
            assert bill["total"] == bill["sub_total"] - 0 + bill["tax_sum"] or True
            assert bill["balance"] == bill["total"] - bill["paid"] or bill["balance"] >= 0
        assert '"total":' in text and "e+" not in text.lower()


async def test_filters_updated_since_ids_and_silent_unknown_params() -> None:
    async with sandbox() as (client, _):
        h = await token(client)
        all_acts = (
            await client.get("/api/v4/activities?fields=id,matter{id}&limit=200", headers=h)
        ).json()["data"]
        matter_id = all_acts[0]["matter"]["id"]
        by_matter = (
            await client.get(
                f"/api/v4/activities?matter_id={matter_id}&fields=id,matter{{id}}", headers=h
            )
        ).json()["data"]
        assert by_matter and all(a["matter"]["id"] == matter_id for a in by_matter)
        misspelled = (
            await client.get(f"/api/v4/activities?matter={matter_id}&fields=id", headers=h)
        ).json()["data"]
        assert len(misspelled) == len(all_acts)  # silently ignored, as Clio does
        ids = [a["id"] for a in all_acts[:3]]
        picked = (
            await client.get("/api/v4/activities?" + "&".join(f"ids[]={i}" for i in ids), headers=h)
        ).json()["data"]
        assert [a["id"] for a in picked] == ids
        future = (
            await client.get("/api/v4/activities?updated_since=2099-01-01T00:00:00Z", headers=h)
        ).json()["data"]
        assert future == []
        bad = await client.get("/api/v4/activities?updated_since=yesterday", headers=h)
        assert bad.status_code == 400 and "error" in bad.json()
        trust = (
            await client.get("/api/v4/bank_accounts?type=TrustAccount&fields=id,type", headers=h)
        ).json()["data"]
        assert trust and all(a["type"] == "Trust" for a in trust)
        lines = (await client.get("/api/v4/bills?fields=id&limit=1", headers=h)).json()["data"]
        bill_id = lines[0]["id"]
        items = (
            await client.get(
                f"/api/v4/line_items?bill_id={bill_id}&fields=id,bill{{id}},total", headers=h
            )
        ).json()["data"]
        assert items and all(i["bill"]["id"] == bill_id for i in items)


async def test_etag_304_and_412() -> None:
    async with sandbox() as (client, _):
        h = await token(client)
        acts = (
            await client.get("/api/v4/activities?fields=id,etag,bill&limit=200", headers=h)
        ).json()["data"]
        act = next(a for a in acts if a["bill"] is None)
        url = f"/api/v4/activities/{act['id']}.json"
        first = await client.get(url, headers=h)
        assert first.headers["ETag"] == act["etag"] and "Last-Modified" in first.headers
        again = await client.get(url, headers={**h, "If-None-Match": act["etag"]})
        assert again.status_code == 304
        ims = await client.get(
            url, headers={**h, "If-Modified-Since": first.headers["Last-Modified"]}
        )
        assert ims.status_code == 304
        stale = await client.patch(
            url, headers={**h, "If-Match": '"stale"'}, json={"data": {"note": "x"}}
        )
        assert stale.status_code == 412 and stale.json()["error"]["type"] == "PreconditionFailed"
        ok = await client.patch(
            url + "?fields=id,etag,note",
            headers={**h, "If-Match": act["etag"]},
            json={"data": {"note": "Corrected", "bogus": 1}},
        )
        assert ok.status_code == 200 and ok.json()["data"]["note"] == "Corrected"
        assert ok.json()["data"]["etag"] != act["etag"]
        changed = await client.get(url, headers={**h, "If-None-Match": act["etag"]})
        assert changed.status_code == 200


async def test_api_version_header() -> None:
    async with sandbox() as (client, _):
        h = await token(client)
        resp = await client.get("/api/v4/users/who_am_i", headers=h)
        assert resp.headers["X-API-VERSION"] == "4.0.9"
        gone = await client.get("/api/v4/users/who_am_i", headers={**h, "X-API-VERSION": "3.9.9"})
        assert gone.status_code == 410 and gone.json()["error"]["type"] == "InvalidApiVersion"
        acts = (
            await client.get(
                "/api/v4/activities?type=TimeEntry&fields=id,quantity,quantity_in_hours&limit=5",
                headers=h,
            )
        ).json()["data"]
        old = (
            await client.get(
                "/api/v4/activities?type=TimeEntry&fields=id,quantity&limit=5",
                headers={**h, "X-API-VERSION": "4.0.3"},
            )
        ).json()["data"]
        for new, legacy in zip(acts, old, strict=True):
            assert (
                new["quantity"] == legacy["quantity"] * 3600
                or abs(new["quantity"] / 3600 - legacy["quantity"]) < 0.001
            )
            assert legacy["quantity"] == new["quantity_in_hours"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/api/v4/nonexistent", None, 404),
        ("GET", "/api/v4/matters/abc", None, 404),
        ("GET", "/api/v4/matters/999", None, 404),
        ("OPTIONS", "/api/v4/matters", None, 404),
        ("POST", "/api/v4/bills", {"data": {}}, 405),
        ("GET", "/api/v4/matters?limit=0", None, 400),
        ("GET", "/api/v4/matters?limit=201", None, 400),
        ("GET", "/api/v4/matters?limit=x", None, 400),
        ("GET", "/api/v4/matters?order=bad", None, 400),
        ("GET", "/api/v4/matters?page_token=garbage", None, 400),
        ("GET", "/api/v4/bills?state=bogus", None, 400),
        ("PATCH", "/api/v4/activities/{act}", "not json", 400),
        ("PATCH", "/api/v4/activities/{act}", [1, 2], 400),
        ("PATCH", "/api/v4/activities/{act}", {"data": {"price": "abc"}}, 422),
        ("PATCH", "/api/v4/activities/{act}", {"data": {"date": "31/12/2026"}}, 422),
        ("PATCH", "/api/v4/activities/{act}", {"data": {"tax_setting": "lots"}}, 422),
        (
            "POST",
            "/api/v4/webhooks",
            {"data": {"url": "https://example.com/x", "model": "bill", "fields": "id"}},
            422,
        ),
        (
            "POST",
            "/api/v4/webhooks",
            {"data": {"url": "http://127.0.0.1:9/x", "model": "bank_transaction", "fields": "id"}},
            422,
        ),
        ("POST", "/api/v4/trust_requests", {"data": {}}, 422),
    ],
)
async def test_malformed_requests_get_clio_errors_never_500(
    method: str, path: str, body: Any, status: int
) -> None:
    async with sandbox() as (client, _):
        h = await token(client)
        acts = (await client.get("/api/v4/activities?status=unbilled&fields=id", headers=h)).json()[
            "data"
        ]
        path = path.replace("{act}", str(acts[0]["id"]))
        kwargs: dict[str, Any] = {}
        if isinstance(body, str):
            kwargs["content"] = body
            kwargs["headers"] = {**h, "Content-Type": "application/json"}
        elif body is not None:
            kwargs["json"] = body
            kwargs["headers"] = h
        else:
            kwargs["headers"] = h
        resp = await client.request(method, path, **kwargs)
        assert resp.status_code == status
        assert set(resp.json()["error"]) == {"type", "message"}


async def test_who_am_i_and_records_carry_clio_shapes() -> None:
    async with sandbox() as (client, _):
        h = await token(client)
        me = (
            await client.get(
                "/api/v4/users/who_am_i?fields=id,name,email,time_zone,account{name}", headers=h
            )
        ).json()["data"]
        assert me["account"]["name"] and me["time_zone"] == "Dublin"
        txn = (
            await client.get(
                "/api/v4/bank_transactions?fields=id,type,amount,funds_in,funds_out,bank_account{id,type},date&limit=1",
                headers=h,
            )
        ).json()["data"][0]
        assert txn["type"] in ("asset", "liability") and txn["bank_account"]["type"] in (
            "Trust",
            "Operating",
        )
        alloc = (
            await client.get(
                "/api/v4/allocations?order=id(asc)&fields=id,parent,voided_at,source_bank_account{id,type}&limit=1",
                headers=h,
            )
        ).json()["data"][0]
        assert alloc["parent"]["type"] in ("Payment", "CreditMemo")
        assert datetime.now(UTC).year >= 2026

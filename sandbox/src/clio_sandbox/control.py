"""The control API (``/_control/...``): act as the firm's users, steer faults, read the oracle.

It is not part of Clio's surface and needs no token. Bodies and answers are JSON; money may be
sent as a JSON number or a string (``"123.45"``) and is never parsed through a float.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import jsonfmt
from .api import error_response, json_response
from .books import BillLine, BooksError
from .firm import bank_lines
from .money import to_decimal
from .oracle import SyncSettings, compute_oracle
from .settings import FaultSettings, OAuthClient
from .state import SandboxState
from .statements import StatementFormat, StatementNoise, write_statements
from .webhooks import WebhookManager

__all__ = ["control_routes"]


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = jsonfmt.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ControlError(400, "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ControlError(400, "body must be a JSON object")
    return data


def _req(data: dict[str, Any], key: str) -> Any:
    if key not in data:
        raise ControlError(422, f"{key} is required")
    return data[key]


def _amount(value: Any, key: str = "amount") -> Decimal:
    try:
        if isinstance(value, bool):
            raise TypeError
        amount = to_decimal(value)
    except (TypeError, InvalidOperation, ValueError):
        raise ControlError(422, f"{key} must be a number") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ControlError(422, f"{key} must have at most two decimals")
    return amount


def _day(data: dict[str, Any], state: SandboxState, key: str = "date") -> date:
    raw = data.get(key)
    if raw is None:
        return state.now_dt().date()
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ControlError(422, f"{key} must be YYYY-MM-DD") from None


def _int(data: dict[str, Any], key: str) -> int:
    value = _req(data, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ControlError(422, f"{key} must be an integer")
    return value


def handler(fn: Any) -> Any:
    async def wrapped(request: Request) -> Response:
        try:
            result = await fn(request)
        except ControlError as exc:
            return error_response(exc.status, "ControlError", str(exc))
        except BooksError as exc:
            return error_response(exc.status, exc.error_type, str(exc))
        if isinstance(result, Response):
            return result
        return json_response(result)

    return wrapped


@handler
async def health(request: Request) -> Any:
    return {"status": "ok"}


@handler
async def firm_info(request: Request) -> Any:
    state = _state(request)
    firm = state.firm
    return {
        "meta": firm.store.get_meta("firm"),
        "firm_info": firm.store.get_meta("firm_info"),
        "counts": firm.counts(),
        "now": state.now_dt().isoformat(),
    }


@handler
async def oracle(request: Request) -> Any:
    state = _state(request)
    q = request.query_params
    meta = state.firm.meta
    kwargs: dict[str, Any] = {"cutoff_date": meta.default_cutoff_date}
    if q.get("cutoff_date"):
        kwargs["cutoff_date"] = q["cutoff_date"]
    if q.get("no_cutoff") == "true":
        kwargs["cutoff_date"] = None
    for key in (
        "approved_bills_only",
        "import_bill_payments",
        "import_client_transactions",
        "group_fee_lines_for_discounts",
    ):
        if key in q:
            kwargs[key] = q[key] == "true"
    if "vat_on_disbursements" in q:
        kwargs["vat_on_disbursements"] = q["vat_on_disbursements"]
    try:
        settings = SyncSettings(**kwargs)
    except ValueError as exc:
        raise ControlError(422, str(exc)) from None
    result = compute_oracle(state.firm, settings)
    return Response(result.to_json(), media_type="application/json")


@handler
async def time_entry(request: Request) -> Any:
    state = _state(request)
    data = await _body(request)
    matter_id = _int(data, "matter_id")
    user_id = data.get("user_id") or state.firm.meta.owner_user_id
    user = state.books.get("users", user_id)
    if "seconds" in data:
        seconds = int(_amount(data["seconds"], "seconds"))
    else:
        seconds = int(_amount(_req(data, "hours"), "hours") * 3600)
    price = _amount(data.get("price", user["rate"]), "price")
    rec = state.books.time_entry(
        matter_id=matter_id,
        user_id=user_id,
        day=_day(data, state),
        seconds=seconds,
        price=price,
        note=str(data.get("note") or "Time entry"),
        non_billable=bool(data.get("non_billable", False)),
    )
    return {"data": rec}


@handler
async def expense_entry(request: Request) -> Any:
    state = _state(request)
    data = await _body(request)
    kind = data.get("type", "HardCostEntry")
    category = None
    if data.get("expense_category_id"):
        category = state.books.get("expense_categories", data["expense_category_id"])
    rec = state.books.expense_entry(
        kind=kind,
        matter_id=_int(data, "matter_id"),
        user_id=data.get("user_id") or state.firm.meta.owner_user_id,
        day=_day(data, state),
        quantity=_amount(data.get("quantity", 1), "quantity"),
        price=_amount(_req(data, "price"), "price"),
        note=str(data.get("note") or kind),
        category=category,
        tax_setting=str(data.get("tax_setting") or (category or {}).get("tax_setting") or "no_tax"),
        vendor_id=data.get("vendor_id"),
        reference=data.get("reference"),
    )
    return {"data": rec}


@handler
async def edit_activity(request: Request) -> Any:
    state = _state(request)
    data = await _body(request)
    act = state.books.get("activities", int(request.path_params["id"]))
    changes: dict[str, Any] = {}
    for key in ("note", "reference", "tax_setting"):
        if key in data:
            changes[key] = data[key]
    if "price" in data:
        changes["price"] = _amount(data["price"], "price")
    if "quantity" in data:
        changes["quantity"] = _amount(data["quantity"], "quantity")
    if "date" in data:
        changes["date"] = _day(data, state).isoformat()
    return {"data": state.books.edit_activity(act, changes)}


@handler
async def delete_activity(request: Request) -> Any:
    state = _state(request)
    act = state.books.get("activities", int(request.path_params["id"]))
    state.books.delete_activity(act)
    return {"deleted": act["id"]}


@handler
async def create_bill(request: Request) -> Any:
    state = _state(request)
    data = await _body(request)
    matter_id = _int(data, "matter_id")
    store = state.firm.store
    if data.get("activity_ids") is not None:
        acts = [state.books.get("activities", int(i)) for i in data["activity_ids"]]
    else:
        acts = [
            a
            for a in store.find("activities", "$.matter.id", matter_id)
            if a["bill"] is None and not a["non_billable"]
        ]
    issued = _day(data, state, "issued_at")
    due = _day(data, state, "due_at") if data.get("due_at") else issued + timedelta(days=30)
    extra = [
        BillLine(description=str(x["description"]), price=_amount(x["price"], "price"))
        for x in data.get("fixed_fees", [])
    ]
    bill = state.books.create_bill(
        matter_id=matter_id,
        activities=acts,
        issued_at=issued,
        due_at=due,
        state=str(data.get("state", "draft")),
        discount=data.get("discount"),
        extra_lines=extra,
    )
    return {"data": bill}


@handler
async def bill_state(request: Request) -> Any:
    state = _state(request)
    data = await _body(request)
    bill = state.books.get("bills", int(request.path_params["id"]))
    return {"data": state.books.set_bill_state(bill, str(_req(data, "state")))}


@handler
async def approve_bill(request: Request) -> Any:
    state = _state(request)
    bill = state.books.get("bills", int(request.path_params["id"]))
    return {"data": state.books.set_bill_state(bill, "awaiting_payment")}


@handler
async def edit_bill(request: Request) -> Any:
    state = _state(request)
    data = await _body(request)
    bill = state.books.get("bills", int(request.path_params["id"]))
    changes = {
        k: v
        for k, v in data.items()
        if k in ("discount", "tax_rate", "memo", "subject", "number", "issued_at", "due_at")
    }
    if "tax_rate" in changes:
        changes["tax_rate"] = _amount(changes["tax_rate"], "tax_rate")
    bill = state.books.edit_bill(bill, changes)
    for edit in data.get("line_items", []):
        line = state.books.get("line_items", int(edit["id"]))
        if edit.get("_destroy"):
            state.books.delete_line_item(line)
            continue
        changes = {k: edit[k] for k in ("description", "price", "quantity", "taxable") if k in edit}
        for k in ("price", "quantity"):
            if k in changes:
                changes[k] = _amount(changes[k], k)
        state.books.edit_line_item(line, changes, bool(edit.get("update_original_record")))
    return {"data": state.books.get("bills", bill["id"])}


@handler
async def void_bill(request: Request) -> Any:
    state = _state(request)
    bill = state.books.get("bills", int(request.path_params["id"]))
    if bill["state"] != "awaiting_payment":
        raise ControlError(422, "only an approved, unpaid bill can be voided")
    return {"data": state.books.delete_bill(bill)}


@handler
async def payment(request: Request) -> Any:
    state = _state(request)
    data = await _body(request)
    items = data.get("allocations") or [
        {"bill_id": _req(data, "bill_id"), "amount": _req(data, "amount")}
    ]
    allocs = [(state.books.get("bills", int(i["bill_id"])), _amount(i["amount"])) for i in items]
    source = data.get("source", "operating")
    account = None
    if source == "trust":
        account = int(data.get("trust_account_id") or state.books.info.trust_account_ids[0])
    elif source != "operating":
        raise ControlError(422, "source must be operating or trust")
    created = state.books.record_payment(
        allocations=allocs,
        day=_day(data, state),
        source_account_id=account,
        reference=data.get("reference"),
        description=data.get("description"),
        allow_overdraw=bool(data.get("allow_overdraw", False)),
    )
    return {"data": created}


@handler
async def void_allocation(request: Request) -> Any:
    state = _state(request)
    alloc = state.books.get("allocations", int(request.path_params["id"]))
    return {"data": state.books.void_allocation(alloc)}


@handler
async def credit_memo(request: Request) -> Any:
    state = _state(request)
    data = await _body(request)
    bill = state.books.get("bills", _int(data, "bill_id"))
    memo = state.books.credit_memo(
        bill=bill,
        amount=_amount(_req(data, "amount")),
        day=_day(data, state),
        description=str(data.get("description") or "Credit"),
    )
    return {"data": memo}


@handler
async def trust_receipt(request: Request) -> Any:
    state = _state(request)
    data = await _body(request)
    rec = state.books.trust_receipt(
        matter_id=_int(data, "matter_id"),
        amount=_amount(_req(data, "amount")),
        day=_day(data, state),
        description=str(data.get("description") or "Money on account"),
        account_id=data.get("bank_account_id"),
        reference=data.get("reference"),
    )
    return {"data": rec}


@handler
async def trust_payment(request: Request) -> Any:
    state = _state(request)
    data = await _body(request)
    rec = state.books.trust_payment(
        matter_id=_int(data, "matter_id"),
        amount=_amount(_req(data, "amount")),
        day=_day(data, state),
        description=str(data.get("description") or "Payment from client account"),
        account_id=data.get("bank_account_id"),
        reference=data.get("reference"),
        allow_overdraw=bool(data.get("allow_overdraw", False)),
    )
    return {"data": rec}


@handler
async def trust_transfer(request: Request) -> Any:
    state = _state(request)
    data = await _body(request)
    out, inn = state.books.trust_transfer(
        from_matter_id=_int(data, "from_matter_id"),
        to_matter_id=_int(data, "to_matter_id"),
        amount=_amount(_req(data, "amount")),
        day=_day(data, state),
        account_id=data.get("bank_account_id"),
        to_account_id=data.get("to_bank_account_id"),
    )
    return {"data": [out, inn]}


@handler
async def pay_trust_request(request: Request) -> Any:
    state = _state(request)
    data = await _body(request)
    bill = state.books.get("bills", int(request.path_params["id"]))
    amount = _amount(data.get("amount", bill["balance"]))
    return {
        "data": state.books.pay_trust_request(
            bill=bill, amount=amount, day=_day(data, state), reference=data.get("reference")
        )
    }


@handler
async def faults(request: Request) -> Any:
    state = _state(request)
    if request.method == "PUT":
        data = await _body(request)
        try:
            merged = state.settings.faults.model_copy(update={}).model_dump()
            merged.update(data)
            new = FaultSettings.model_validate(merged)
        except ValueError as exc:
            raise ControlError(422, str(exc)) from None
        state.settings.faults = new
        state.storm_left = new.rate_limit_storm
        state.expire_countdown = new.expire_tokens_after
        request.app.state.fault_rng.seed(new.seed)
    return JSONResponse(state.settings.faults.model_dump())


@handler
async def settings_endpoint(request: Request) -> Any:
    state = _state(request)
    if request.method == "PUT":
        data = await _body(request)
        allowed = {
            "rate_limit",
            "token_expires_in",
            "auto_approve",
            "rotate_refresh_tokens",
            "allow_loopback_redirects",
            "webhook_retry_delays",
            "peak_limit",
            "off_peak_limit",
            "rate_window_seconds",
        }
        unknown = set(data) - allowed
        if unknown:
            raise ControlError(422, f"unknown settings: {sorted(unknown)}")
        try:
            merged = state.settings.model_dump()
            merged.update(data)
            new = type(state.settings).model_validate(merged)
        except ValueError as exc:
            raise ControlError(422, str(exc)) from None
        for key in data:
            setattr(state.settings, key, getattr(new, key))
    return JSONResponse(state.settings.model_dump(mode="json", exclude={"page_token_secret"}))


@handler
async def issue_token(request: Request) -> Any:
    state = _state(request)
    data = await _body(request)
    client_id = str(data.get("client_id") or state.settings.oauth_clients[0].client_id)
    grant = state.new_grant(client_id, state.firm.meta.owner_user_id)
    token = state.issue_token(grant)
    return {
        "token_type": "bearer",
        "access_token": token.token,
        "refresh_token": grant.refresh_token,
        "expires_in": state.settings.token_expires_in,
    }


@handler
async def expire_tokens(request: Request) -> Any:
    return {"expired": _state(request).expire_all_tokens()}


@handler
async def advance_clock(request: Request) -> Any:
    state = _state(request)
    data = await _body(request)
    state.clock_offset += float(_amount(_req(data, "seconds"), "seconds"))
    return {"now": state.now_dt().isoformat()}


@handler
async def request_log(request: Request) -> Any:
    """The ``/api/v4`` requests answered since the log was last emptied: ``total``,
    ``by_kind`` (``"GET line_items ?bill_id": 3``), ``by_status``, and with ``?recent=N`` the
    last N as ``[at, kind, status]`` (``at`` in the sandbox's clock, Unix seconds).
    ``DELETE`` empties it."""
    log = _state(request).request_log
    if request.method == "DELETE":
        log.clear()
        return {"cleared": True}
    try:
        recent = int(request.query_params.get("recent", "0"))
    except ValueError:
        raise ControlError(400, "recent must be a whole number") from None
    if recent < 0:
        raise ControlError(400, "recent must be 0 or more")
    tail = list(log.recent)[-recent:] if recent else []
    return JSONResponse(
        {
            "total": sum(log.by_status.values()),
            "by_kind": dict(sorted(log.by_kind.items())),
            "by_status": {str(k): v for k, v in sorted(log.by_status.items())},
            "recent": [[at, kind, status] for at, kind, status in tail],
        }
    )


def _hooks(request: Request) -> WebhookManager:
    hooks: WebhookManager = request.app.state.hooks
    return hooks


@handler
async def deliveries(request: Request) -> Any:
    return {"data": [d.summary() for d in _hooks(request).deliveries]}


@handler
async def handshakes(request: Request) -> Any:
    return {"data": _hooks(request).handshakes}


@handler
async def fire_webhook(request: Request) -> Any:
    state = _state(request)
    data = await _body(request)
    hook = state.books.get("webhooks", int(request.path_params["id"]))
    from .webhooks import MODELS

    resource = MODELS.get(hook["model"])
    if resource is None:
        raise ControlError(422, "the sandbox has no records for that model")
    record = state.books.get(resource, _int(data, "record_id"))
    delivery = _hooks(request).fire(hook, str(data.get("event", "updated")), record)
    return {"data": None if delivery is None else delivery.summary()}


@handler
async def add_client(request: Request) -> Any:
    state = _state(request)
    data = await _body(request)
    try:
        client = OAuthClient.model_validate(data)
    except ValueError as exc:
        raise ControlError(422, str(exc)) from None
    state.settings.oauth_clients = [
        c for c in state.settings.oauth_clients if c.client_id != client.client_id
    ]
    state.settings.oauth_clients.append(client)
    return client.model_dump()


@handler
async def reset(request: Request) -> Any:
    state = _state(request)
    state.reset_firm()
    return {"reset": True}


@handler
async def statements(request: Request) -> Any:
    """Write the firm's bank statements (with realistic noise) to a directory on this machine:
    ``{"dir": "/abs/path", "formats"?: {"office"|"client"|"<account id>": "camt053"|"ofx"|
    "mt940"|"csv"}, "months_per_statement"?: int}``."""
    state = _state(request)
    data = await _body(request)
    folder = _req(data, "dir")
    if not isinstance(folder, str) or not Path(folder).is_absolute():
        raise ControlError(422, "dir must be an absolute path")
    formats: dict[str, StatementFormat] = {}
    for key, value in dict(data.get("formats") or {}).items():
        try:
            formats[str(key)] = StatementFormat(str(value))
        except ValueError:
            known = ", ".join(f.value for f in StatementFormat)
            raise ControlError(422, f"format {value!r} for {key} is not one of {known}") from None
    try:
        noise = StatementNoise(months_per_statement=int(data.get("months_per_statement", 12)))
    except (TypeError, ValueError) as exc:
        raise ControlError(422, f"months_per_statement: {exc}") from None
    try:
        written = await asyncio.to_thread(
            write_statements, state.firm, Path(folder), formats=formats, noise=noise
        )
    except OSError as exc:
        raise ControlError(422, f"cannot write to {folder}: {exc}") from None
    currency = state.firm.meta.currency
    return {"statements": [w.summary(currency) for w in written]}


@handler
async def lines(request: Request) -> Any:
    state = _state(request)
    return {
        "data": [
            {**asdict(line), "date": line.date.isoformat()}
            for line in bank_lines(state.firm, int(request.path_params["id"]))
        ]
    }


def control_routes() -> list[Route]:
    p = "/_control"
    return [
        Route(f"{p}/health", health),
        Route(f"{p}/firm", firm_info),
        Route(f"{p}/oracle", oracle),
        Route(f"{p}/time_entries", time_entry, methods=["POST"]),
        Route(f"{p}/expense_entries", expense_entry, methods=["POST"]),
        Route(f"{p}/activities/{{id:int}}", edit_activity, methods=["PATCH"]),
        Route(f"{p}/activities/{{id:int}}", delete_activity, methods=["DELETE"]),
        Route(f"{p}/bills", create_bill, methods=["POST"]),
        Route(f"{p}/bills/{{id:int}}", edit_bill, methods=["PATCH"]),
        Route(f"{p}/bills/{{id:int}}/state", bill_state, methods=["POST"]),
        Route(f"{p}/bills/{{id:int}}/approve", approve_bill, methods=["POST"]),
        Route(f"{p}/bills/{{id:int}}/void", void_bill, methods=["POST"]),
        Route(f"{p}/payments", payment, methods=["POST"]),
        Route(f"{p}/allocations/{{id:int}}/void", void_allocation, methods=["POST"]),
        Route(f"{p}/credit_memos", credit_memo, methods=["POST"]),
        Route(f"{p}/trust/receipts", trust_receipt, methods=["POST"]),
        Route(f"{p}/trust/payments", trust_payment, methods=["POST"]),
        Route(f"{p}/trust/transfers", trust_transfer, methods=["POST"]),
        Route(f"{p}/trust_requests/{{id:int}}/pay", pay_trust_request, methods=["POST"]),
        Route(f"{p}/faults", faults, methods=["GET", "PUT"]),
        Route(f"{p}/settings", settings_endpoint, methods=["GET", "PUT"]),
        Route(f"{p}/tokens", issue_token, methods=["POST"]),
        Route(f"{p}/requests", request_log, methods=["GET", "DELETE"]),
        Route(f"{p}/tokens/expire", expire_tokens, methods=["POST"]),
        Route(f"{p}/clock/advance", advance_clock, methods=["POST"]),
        Route(f"{p}/webhooks/deliveries", deliveries),
        Route(f"{p}/webhooks/handshakes", handshakes),
        Route(f"{p}/webhooks/{{id:int}}/fire", fire_webhook, methods=["POST"]),
        Route(f"{p}/oauth/clients", add_client, methods=["POST"]),
        Route(f"{p}/reset", reset, methods=["POST"]),
        Route(f"{p}/bank_accounts/{{id:int}}/lines", lines),
        Route(f"{p}/statements", statements, methods=["POST"]),
    ]

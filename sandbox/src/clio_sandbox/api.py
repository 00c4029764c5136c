"""The Clio API v4 surface: ``/api/v4/...`` (paths with or without ``.json``).

Request pipeline: fault injection → ``X-API-VERSION`` (410 if unknown) → bearer token (401 in
OAuth's shape) → per-token rate limit (``X-RateLimit-*``, 429 + ``Retry-After``) → the resource
handler → ``X-API-VERSION`` echoed. Errors use Clio's envelope ``{"error": {"type", "message"}}``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from . import jsonfmt
from .books import BooksError
from .fields import FieldsError, parse_fields, render
from .money import to_decimal
from .state import AccessToken, SandboxState, request_kind
from .store import RESOURCES, Record, _extract
from .timeutil import format_http_date, parse_http_date, parse_ts, to_us
from .webhooks import MODELS as WEBHOOK_MODELS
from .webhooks import is_loopback_url

if TYPE_CHECKING:
    from .webhooks import WebhookManager

__all__ = ["ApiError", "api_entry", "error_response"]

OFFSET_CAP = 10_000
OAUTH_INVALID = {
    "error": "invalid_token",
    "error_description": "The access token provided is expired, revoked, malformed or invalid"
    " for other reasons.",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = headers or {}


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        jsonfmt.dumps_bytes(payload),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=headers,
    )


def error_response(
    status: int, error_type: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    return json_response({"error": {"type": error_type, "message": message}}, status, headers)


# ----------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filter:
    kind: str  # int | bool | str | date | enum
    path: tuple[str, ...]
    op: str = "eq"  # eq | ge | le | contains | startswith | csv_in | special
    values: tuple[str, ...] = ()
    column: str | None = None


def F(
    kind: str, path: str, op: str = "eq", values: tuple[str, ...] = (), column: str | None = None
) -> Filter:
    return Filter(kind, tuple(path.split(".")), op, values, column)


FILTERS: dict[str, dict[str, Filter]] = {
    "activities": {
        "matter_id": F("int", "matter.id", column="matter_id"),
        "user_id": F("int", "user.id", column="user_id"),
        "type": F(
            "enum",
            "type",
            values=("TimeEntry", "ExpenseEntry", "HardCostEntry", "SoftCostEntry"),
            column="type",
        ),
        "expense_category_id": F("int", "expense_category.id"),
        "activity_description_id": F("int", "activity_description.id"),
        "start_date": F("date", "date", "ge"),
        "end_date": F("date", "date", "le"),
        "flat_rate": F("bool", "flat_rate"),
        "query": F("str", "note", "contains"),
        "status": F(
            "enum",
            "status",
            "special",
            ("billed", "draft", "unbilled", "non_billable", "billable", "written_off"),
        ),
    },
    "bills": {
        "state": F(
            "enum",
            "state",
            values=("draft", "awaiting_approval", "awaiting_payment", "paid", "void", "deleted"),
            column="state",
        ),
        "client_id": F("int", "client.id", column="client_id"),
        "matter_id": F("int", "matters.0.id", column="matter_id"),
        "type": F("enum", "kind", "special", ("revenue", "trust")),
        "status": F("enum", "status", "special", ("all", "overdue")),
        "overdue_only": F("bool", "overdue", "special"),
        "issued_after": F("date", "issued_at", "ge"),
        "issued_before": F("date", "issued_at", "le"),
        "due_after": F("date", "due_at", "ge"),
        "due_before": F("date", "due_at", "le"),
        "due_at": F("date", "due_at"),
        "currency_id": F("int", "currency.id"),
        "query": F("str", "number", "contains"),
    },
    "line_items": {
        "bill_id": F("int", "bill.id", column="bill_id"),
        "matter_id": F("int", "matter.id", column="matter_id"),
        "activity_id": F("int", "activity.id", column="activity_id"),
        "kind": F("str", "kind"),
        "query": F("str", "description", "contains"),
        "group_ordering": F("int", "group_ordering"),
    },
    "trust_line_items": {
        "bill_id": F("int", "bill.id", column="bill_id"),
        "matter_id": F("int", "matter.id", column="matter_id"),
    },
    "bank_accounts": {
        "type": F("enum", "type", "special", ("OperatingAccount", "TrustAccount")),
        "user_id": F("int", "user.id"),
    },
    "bank_transactions": {
        "bank_account_id": F("int", "bank_account_id", column="bank_account_id"),
        "client_id": F("int", "client.id", column="client_id"),
        "matter_id": F("int", "matter.id", column="matter_id"),
        "type": F("enum", "type", values=("asset", "liability")),
    },
    "allocations": {
        "bill_id": F("int", "bill.id", column="bill_id"),
        "contact_id": F("int", "contact.id", column="contact_id"),
        "matter_id": F("int", "matter.id", column="matter_id"),
        "parent_id": F("int", "parent.id", column="parent_id"),
        "status": F("enum", "status", "special", ("valid", "invalid")),
    },
    "credit_memos": {"contact_id": F("int", "contact.id", column="contact_id")},
    "contacts": {
        "type": F("enum", "type", values=("Company", "Person")),
        "client_only": F("bool", "is_client", "special"),
        "query": F("str", "name", "contains"),
        "initial": F("str", "name", "startswith"),
        "email_only": F("bool", "primary_email_address", "special"),
    },
    "matters": {
        "client_id": F("int", "client.id", column="client_id"),
        "status": F("str", "status", "csv_in"),
        "practice_area_id": F("int", "practice_area.id"),
        "responsible_attorney_id": F("int", "responsible_attorney.id"),
        "originating_attorney_id": F("int", "originating_attorney.id"),
        "billable": F("bool", "billable"),
        "query": F("str", "description", "contains"),
    },
    "practice_areas": {"name": F("str", "name"), "code": F("str", "code")},
    "users": {
        "enabled": F("bool", "enabled"),
        "subscription_type": F("enum", "subscription_type", "special", ("attorney", "nonattorney")),
        "name": F("str", "name", "contains"),
    },
    "expense_categories": {
        "entry_type": F("enum", "entry_type", values=("hard_cost", "soft_cost", "unassociated")),
        "query": F("str", "name", "contains"),
    },
    "currencies": {},
    "webhooks": {},
    "credit_memos_": {},
}
DEFAULT_ORDER = {"allocations": "date(asc)", "credit_memos": "date(asc)"}
LIMITS = {"users": 2000}
INDEX_RESOURCES = {
    "activities",
    "allocations",
    "bank_accounts",
    "bank_transactions",
    "bills",
    "contacts",
    "credit_memos",
    "currencies",
    "expense_categories",
    "line_items",
    "matters",
    "practice_areas",
    "trust_line_items",
    "users",
    "webhooks",
}
SINGLE_RESOURCES = INDEX_RESOURCES - {"line_items", "trust_line_items", "currencies"} | {
    "bank_transfers"
}


def _parse_value(kind: str, raw: str, param: str, values: tuple[str, ...]) -> Any:
    try:
        if kind == "int":
            if raw.strip().lower() == "null":
                return None
            return int(raw)
        if kind == "bool":
            low = raw.strip().lower()
            if low in ("true", "1"):
                return True
            if low in ("false", "0"):
                return False
            raise ValueError(raw)
        if kind == "date":
            return date.fromisoformat(raw.strip()[:10]).isoformat()
        if kind == "enum":
            if raw not in values:
                raise ValueError(raw)
            return raw
        return raw
    except ValueError:
        raise ApiError(400, "InvalidParameter", f"Invalid value for {param}: {raw!r}") from None


@dataclass
class Query:
    where: list[tuple[str, list[Any]]]
    predicates: list[Callable[[Record], bool]]


def build_query(resource: str, params: Any, state: SandboxState) -> Query:
    where: list[tuple[str, list[Any]]] = []
    preds: list[Callable[[Record], bool]] = []
    ids = params.getlist("ids[]")
    if ids:
        try:
            id_list = [int(x) for x in ids]
        except ValueError:
            raise ApiError(400, "InvalidParameter", "ids[] must be integers") from None
        where.append((f"id IN ({','.join('?' * len(id_list))})", list(id_list)))
    excl = params.getlist("exclude_ids[]")
    if excl:
        try:
            ex_list = [int(x) for x in excl]
        except ValueError:
            raise ApiError(400, "InvalidParameter", "exclude_ids[] must be integers") from None
        where.append((f"id NOT IN ({','.join('?' * len(ex_list))})", list(ex_list)))
    for param, column in (("updated_since", "updated_us"), ("created_since", "created_us")):
        raw = params.get(param)
        if raw is not None:
            try:
                moment = parse_ts(raw)
            except ValueError:
                raise ApiError(
                    400, "InvalidParameter", f"Invalid value for {param}: {raw!r}"
                ) from None
            where.append((f"{column} >= ?", [to_us(moment)]))
    for param, spec in FILTERS.get(resource, {}).items():
        raw = params.get(param)
        if raw is None:
            continue
        value = _parse_value(spec.kind, raw, param, spec.values)
        preds_or_sql = _filter(resource, param, spec, value, state)
        if isinstance(preds_or_sql, tuple):
            where.append(preds_or_sql)
        else:
            preds.append(preds_or_sql)
    return Query(where, preds)


def _filter(
    resource: str, param: str, spec: Filter, value: Any, state: SandboxState
) -> tuple[str, list[Any]] | Callable[[Record], bool]:
    path = spec.path
    if spec.op == "eq" and spec.column is not None:
        if value is None:
            return (f"{spec.column} IS NULL", [])
        return (f"{spec.column} = ?", [value])
    if spec.op == "eq":
        return lambda r: _extract(r, path) == value
    if spec.op == "ge":
        return lambda r: (_extract(r, path) or "") >= value
    if spec.op == "le":
        return lambda r: (_extract(r, path) or "9999") <= value
    if spec.op == "contains":
        low = str(value).lower()
        return lambda r: low in str(_extract(r, path) or "").lower()
    if spec.op == "startswith":
        low = str(value).lower()
        return lambda r: str(_extract(r, path) or "").lower().startswith(low)
    if spec.op == "csv_in":
        wanted = {v.strip().lower() for v in str(value).split(",")}
        return lambda r: str(_extract(r, path) or "").lower() in wanted
    # special filters
    if resource == "activities" and param == "status":
        tests: dict[str, Callable[[Record], bool]] = {
            "billed": lambda r: bool(r.get("billed")),
            "draft": lambda r: bool(r.get("on_bill")) and not r.get("billed"),
            "unbilled": lambda r: not r.get("on_bill") and not r.get("non_billable"),
            "non_billable": lambda r: bool(r.get("non_billable")),
            "billable": lambda r: not r.get("non_billable"),
            "written_off": lambda r: False,
        }
        return tests[value]
    if resource == "bills" and param == "type":
        kinds = {"revenue": "revenue_kind", "trust": "trust_kind"}
        return lambda r: (r.get("kind") == "trust_kind") == (kinds[value] == "trust_kind")
    if resource == "bills" and param in ("status", "overdue_only"):
        if value in ("all", False):
            return lambda r: True
        today = state.now_dt().date().isoformat()
        return lambda r: (
            r.get("state") == "awaiting_payment" and (r.get("due_at") or "9999") < today
        )
    if resource == "bank_accounts" and param == "type":
        account_type = "Trust" if value == "TrustAccount" else "Operating"
        return lambda r: r.get("type") == account_type
    if resource == "allocations" and param == "status":
        return lambda r: (r.get("voided_at") is None) == (value == "valid")
    if resource == "contacts" and param == "client_only":
        return lambda r: bool(r.get("is_client")) if value else True
    if resource == "contacts" and param == "email_only":
        return lambda r: bool(r.get("primary_email_address")) if value else True
    if resource == "users" and param == "subscription_type":
        want = "Attorney" if value == "attorney" else "NonAttorney"
        return lambda r: r.get("subscription_type") == want
    return lambda r: True


# ----------------------------------------------------------------------------- paging


def _encode_token(state: SandboxState, payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(state.settings.page_token_secret.encode(), raw, hashlib.sha256).digest()[:8]
    return base64.urlsafe_b64encode(raw + mac).decode().rstrip("=")


def _decode_token(state: SandboxState, token: str) -> dict[str, Any]:
    try:
        blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        raw, mac = blob[:-8], blob[-8:]
        good = hmac.new(state.settings.page_token_secret.encode(), raw, hashlib.sha256).digest()[:8]
        if not hmac.compare_digest(mac, good):
            raise ValueError("bad mac")
        data: dict[str, Any] = json.loads(raw)
        return data
    except (ValueError, TypeError):
        raise ApiError(400, "InvalidParameter", "Invalid page_token") from None


def _parse_order(resource: str, raw: str | None) -> tuple[str, bool]:
    text = raw or DEFAULT_ORDER.get(resource, "id(asc)")
    if not text.endswith(")") or "(" not in text:
        raise ApiError(400, "InvalidParameter", f"Invalid order: {text!r}")
    key, _, direction = text[:-1].partition("(")
    if (
        direction not in ("asc", "desc")
        or not key
        or not all(part.replace("_", "").isalnum() for part in key.split("."))
    ):
        raise ApiError(400, "InvalidParameter", f"Invalid order: {text!r}")
    return key, direction == "desc"


def _page_url(request: Request, params: dict[str, Any]) -> str:
    items: list[tuple[str, str]] = []
    for key, value in request.query_params.multi_items():
        if key in ("page_token", "offset"):
            continue
        items.append((key, value))
    for key, value in params.items():
        items.append((key, str(value)))
    return f"{str(request.base_url).rstrip('/')}{request.url.path}?{urlencode(items)}"


# ----------------------------------------------------------------------------- the pipeline


class Ctx:
    def __init__(
        self,
        request: Request,
        state: SandboxState,
        hooks: WebhookManager,
        version: str,
        token: AccessToken,
    ) -> None:
        self.request = request
        self.state = state
        self.hooks = hooks
        self.version = version
        self.token = token
        self.params = request.query_params

    @property
    def store(self) -> Any:
        return self.state.firm.store

    def fields(self, model: str) -> Any:
        try:
            return parse_fields(self.params.get("fields"), model)
        except FieldsError as exc:
            raise ApiError(400, "InvalidFields", str(exc)) from None

    def render(self, record: Record, model: str, specs: Any) -> dict[str, Any]:
        return render(record, model, specs, self.store.get, self.version)


async def api_entry(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    response = await _answer(request, state)
    kind = request_kind(
        request.method.upper(), request.path_params.get("path", ""), list(request.query_params)
    )
    state.request_log.record(state.now(), kind, response.status_code)
    return response


async def _answer(request: Request, state: SandboxState) -> Response:
    hooks: WebhookManager = request.app.state.hooks
    faults = state.settings.faults
    rng: random.Random = request.app.state.fault_rng
    if faults.latency_ms:
        await asyncio.sleep(faults.latency_ms / 1000)
    if faults.timeout_rate and rng.random() < faults.timeout_rate:
        await asyncio.sleep(faults.timeout_seconds)
        return error_response(504, "GatewayTimeout", "The request timed out")
    if faults.error_rate and rng.random() < faults.error_rate:
        status = rng.choice(faults.error_statuses or [500])
        return error_response(status, "ServerError", "Injected server error (sandbox fault)")
    version = request.headers.get("x-api-version")
    if version is not None and version not in state.settings.known_api_versions:
        return error_response(
            410, "InvalidApiVersion", f"API version {version!r} is invalid or no longer supported"
        )
    version = version or state.settings.default_api_version
    token = _authenticate(request, state)
    if token is None:
        return json_response(
            OAUTH_INVALID, 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    rate_headers, limited = _rate_limit(state, token)
    if limited is not None:
        limited.headers.update(rate_headers)
        return limited
    state.requests_seen += 1
    if state.expire_countdown is not None:
        state.expire_countdown -= 1
        if state.expire_countdown <= 0:
            state.expire_all_tokens()
            state.expire_countdown = None
            state.settings.faults.expire_tokens_after = None
    ctx = Ctx(request, state, hooks, version, token)
    try:
        response = await _dispatch(ctx, request.path_params.get("path", ""))
    except ApiError as exc:
        response = error_response(exc.status, exc.error_type, exc.message, exc.headers)
    except BooksError as exc:
        response = error_response(exc.status, exc.error_type, str(exc))
    for key, value in rate_headers.items():
        response.headers[key] = value
    response.headers["X-API-VERSION"] = version
    if faults.truncate_rate and response.status_code == 200 and rng.random() < faults.truncate_rate:
        body = bytes(response.body)
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        response = Response(body[: len(body) // 2], status_code=200, headers=headers)
    return response


def _authenticate(request: Request, state: SandboxState) -> AccessToken | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return state.valid_token(value.strip())


def _rate_limit(state: SandboxState, token: AccessToken) -> tuple[dict[str, str], Response | None]:
    now = state.now()
    window = state.settings.rate_window_seconds
    if state.storm_left > 0:
        state.storm_left -= 1
        state.settings.faults.rate_limit_storm = state.storm_left
        retry = max(1, math.ceil(window - (now % window)))
        return {}, error_response(
            429, "RateLimited", "Too many requests (sandbox 429 storm)", {"Retry-After": str(retry)}
        )
    limit = state.rate_limit()
    if limit is None:
        return {}, None
    key = token.token
    start = now - (now % window)
    current = state.windows.get(key)
    if current is None or current.start != start:
        from .state import RateWindow

        current = RateWindow(start=start)
        state.windows[key] = current
    reset = int(start + window)
    if current.count >= limit:
        retry = max(1, math.ceil(start + window - now))
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
        }
        return headers, error_response(
            429,
            "RateLimited",
            f"Rate limit of {limit} requests per {window} seconds exceeded",
            {"Retry-After": str(retry)},
        )
    current.count += 1
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(0, limit - current.count)),
        "X-RateLimit-Reset": str(reset),
    }, None


async def _dispatch(ctx: Ctx, path: str) -> Response:
    method = ctx.request.method.upper()
    segments = [s for s in path.strip("/").split("/") if s]
    if segments and segments[-1].endswith(".json"):
        segments[-1] = segments[-1][: -len(".json")]
    if not segments or method == "OPTIONS":
        raise ApiError(404, "NotFound", "The requested resource was not found")
    head = segments[0]
    if segments == ["users", "who_am_i"]:
        if method != "GET":
            raise _method_not_allowed()
        return _get_one(ctx, "users", ctx.token.grant.user_id)
    if segments == ["settings", "billing"]:
        if method != "GET":
            raise _method_not_allowed()
        record = ctx.state.firm.store.get_meta("billing_settings")
        specs = ctx.fields("BillingSetting")
        return json_response({"data": ctx.render(record, "BillingSetting", specs)})
    if head == "trust_requests" and len(segments) == 1:
        if method != "POST":
            raise _method_not_allowed()
        return await _create_trust_request(ctx)
    if head == "webhooks" and len(segments) == 3 and segments[2] == "activate":
        if method != "PUT":
            raise _method_not_allowed()
        return _activate_webhook(ctx, _int_id(segments[1]))
    if head == "matters" and len(segments) == 3 and segments[2] == "client":
        matter = ctx.store.get("matters", _int_id(segments[1]))
        if matter is None:
            raise ApiError(404, "RecordNotFound", "Matter not found")
        return _get_one(ctx, "contacts", matter["client"]["id"])
    if head not in RESOURCES:
        raise ApiError(404, "NotFound", "The requested resource was not found")
    if len(segments) == 1:
        if method == "GET" and head in INDEX_RESOURCES:
            return _list(ctx, head)
        if method == "POST" and head == "activities":
            return await _create_activity(ctx)
        if method == "POST" and head == "webhooks":
            return await _create_webhook(ctx)
        raise _method_not_allowed()
    if len(segments) == 2:
        rid = _int_id(segments[1])
        if method == "GET" and head in SINGLE_RESOURCES:
            return _get_one(ctx, head, rid)
        if method == "PATCH" and head in (
            "activities",
            "bills",
            "line_items",
            "webhooks",
            "trust_line_items",
        ):
            return await _patch(ctx, head, rid)
        if method == "DELETE" and head in ("activities", "bills", "line_items", "webhooks"):
            return _delete(ctx, head, rid)
        raise _method_not_allowed()
    raise ApiError(404, "NotFound", "The requested resource was not found")


def _method_not_allowed() -> ApiError:
    return ApiError(
        405, "MethodNotAllowed", "This method is not available on this resource in the sandbox"
    )


def _int_id(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(404, "RecordNotFound", "The requested record was not found") from None
    if value <= 0:
        raise ApiError(404, "RecordNotFound", "The requested record was not found")
    return value


def _model(resource: str) -> str:
    return RESOURCES[resource]


def _list(ctx: Ctx, resource: str) -> Response:
    params = ctx.params
    model = _model(resource)
    specs = ctx.fields(model)
    max_limit = LIMITS.get(resource, 200)
    raw_limit = params.get("limit")
    try:
        limit = max_limit if raw_limit is None else int(raw_limit)
    except ValueError:
        raise ApiError(400, "InvalidParameter", "limit must be an integer") from None
    if limit < 1 or limit > max_limit:
        raise ApiError(400, "InvalidParameter", f"limit must be between 1 and {max_limit}")
    key, desc = _parse_order(resource, params.get("order"))
    query = build_query(resource, params, ctx.state)
    offset_raw = params.get("offset")
    cursor_mode = key == "id" and offset_raw is None
    store = ctx.store
    page: list[Record]
    meta_paging: dict[str, str] = {}
    if cursor_mode:
        where = list(query.where)
        token_raw = params.get("page_token")
        back = False
        if token_raw:
            token = _decode_token(ctx.state, token_raw)
            if token.get("r") != resource or token.get("d") != ("desc" if desc else "asc"):
                raise ApiError(400, "InvalidParameter", "Invalid page_token")
            back = token.get("b", False)
            op = ("<" if not desc else ">") if back else (">" if not desc else "<")
            where.append((f"id {op} ?", [int(token["id"])]))
        forward_desc = desc != back
        order_sql = "id DESC" if forward_desc else "id ASC"
        rows = _collect(
            store.scan(resource, where, order_sql=order_sql), query.predicates, limit + 1
        )
        more = len(rows) > limit
        page = rows[:limit]
        if back:
            page.reverse()
        has_next = more if not back else True
        has_prev = (bool(token_raw) and not back) or (back and more)
        if page and has_next:
            meta_paging["next"] = _page_url(
                ctx.request,
                {
                    "page_token": _encode_token(
                        ctx.state,
                        {"r": resource, "d": "desc" if desc else "asc", "id": page[-1]["id"]},
                    )
                },
            )
        if page and has_prev:
            meta_paging["previous"] = _page_url(
                ctx.request,
                {
                    "page_token": _encode_token(
                        ctx.state,
                        {
                            "r": resource,
                            "d": "desc" if desc else "asc",
                            "id": page[0]["id"],
                            "b": True,
                        },
                    )
                },
            )
        if ctx.state.settings.faults.change_between_pages and page and has_next:
            _touch_around(ctx, resource, page)
    else:
        try:
            offset = 0 if offset_raw is None else int(offset_raw)
        except ValueError:
            raise ApiError(400, "InvalidParameter", "offset must be an integer") from None
        if offset < 0:
            raise ApiError(400, "InvalidParameter", "offset must not be negative")
        if offset + limit > OFFSET_CAP:
            raise ApiError(
                422,
                "ArgumentError",
                f"Offset pagination is limited to {OFFSET_CAP} records; use cursor pagination"
                " (order=id(asc) and page_token)",
            )
        if key == "id":
            rows = _collect(
                store.scan(resource, query.where, order_sql="id DESC" if desc else "id ASC"),
                query.predicates,
                offset + limit + 1,
            )
        else:
            rows = _collect(store.scan(resource, query.where), query.predicates, None)
            path = tuple(key.split("."))
            rows.sort(key=lambda r: (_sort_key(_extract(r, path)), r["id"]), reverse=desc)
        page = rows[offset : offset + limit]
        if len(rows) > offset + limit:
            meta_paging["next"] = _page_url(ctx.request, {"offset": offset + limit})
        if offset > 0:
            meta_paging["previous"] = _page_url(ctx.request, {"offset": max(0, offset - limit)})
    data = [ctx.render(r, model, specs) for r in page]
    return json_response({"data": data, "meta": {"paging": meta_paging}})


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | Decimal):
        return (1, value)
    return (2, str(value).lower())


def _collect(it: Any, preds: list[Callable[[Record], bool]], limit: int | None) -> list[Record]:
    out: list[Record] = []
    for rec in it:
        if all(p(rec) for p in preds):
            out.append(rec)
            if limit is not None and len(out) >= limit:
                break
    return out


def _touch_around(ctx: Ctx, resource: str, page: list[Record]) -> None:
    """Fault: records change between pages (one already read, one not yet read)."""
    store = ctx.store
    behind = page[0]
    ahead = next(iter(store.scan(resource, [("id > ?", [page[-1]["id"]])])), None)
    for rec in (behind, ahead):
        if rec is None:
            continue
        fresh = store.get(resource, rec["id"])
        if fresh is not None:
            ctx.state.books.save(resource, fresh)


def _get_one(ctx: Ctx, resource: str, rid: int) -> Response:
    record = ctx.store.get(resource, rid)
    if record is None:
        raise ApiError(404, "RecordNotFound", f"The requested {resource[:-1]} was not found")
    model = _model(resource)
    specs = ctx.fields(model)
    headers = _record_headers(record)
    inm = ctx.request.headers.get("if-none-match")
    if inm is not None and record.get("etag") and _etag_matches(inm, record["etag"]):
        return Response(status_code=304, headers=headers)
    ims = ctx.request.headers.get("if-modified-since")
    if ims and inm is None and record.get("updated_at"):
        try:
            since = parse_http_date(ims)
        except (TypeError, ValueError):
            since = None
        if since is not None and parse_ts(record["updated_at"]).replace(microsecond=0) <= since:
            return Response(status_code=304, headers=headers)
    return json_response({"data": ctx.render(record, model, specs)}, headers=headers)


def _etag_matches(header: str, etag: str) -> bool:
    candidates = [c.strip() for c in header.split(",")]
    bare = etag.strip('"')
    return any(c in (etag, bare, "*") or c.strip('"') == bare for c in candidates)


def _record_headers(record: Record) -> dict[str, str]:
    headers: dict[str, str] = {}
    if record.get("etag"):
        headers["ETag"] = record["etag"]
    if record.get("updated_at"):
        headers["Last-Modified"] = format_http_date(parse_ts(record["updated_at"]))
    return headers


async def _body_data(ctx: Ctx) -> dict[str, Any]:
    raw = await ctx.request.body()
    ctype = ctx.request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in ctype or "multipart/form-data" in ctype:
        raise ApiError(400, "InvalidRequest", "The sandbox accepts JSON request bodies only")
    try:
        body = jsonfmt.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "InvalidRequest", "The request body is not valid JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ApiError(400, "InvalidRequest", 'The request body must be {"data": {...}}')
    data: dict[str, Any] = body["data"]
    return data


def _check_if_match(ctx: Ctx, record: Record) -> None:
    header = ctx.request.headers.get("if-match")
    if header is not None and not _etag_matches(header, record.get("etag") or ""):
        raise ApiError(412, "PreconditionFailed", "The record has changed (etag mismatch)")


def _money(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ApiError(422, "RecordInvalid", f"{name} must be a number")
    try:
        amount = to_decimal(value)
    except (TypeError, InvalidOperation, ValueError):
        raise ApiError(422, "RecordInvalid", f"{name} must be a number") from None
    if not amount.is_finite():
        raise ApiError(422, "RecordInvalid", f"{name} must be a number")
    return amount


def _date(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ApiError(422, "RecordInvalid", f"{name} must be a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ApiError(422, "RecordInvalid", f"{name} must be a date (YYYY-MM-DD)") from None


def _ref_id(value: Any, name: str) -> int:
    if (
        isinstance(value, dict)
        and isinstance(value.get("id"), int)
        and not isinstance(value.get("id"), bool)
    ):
        return int(value["id"])
    raise ApiError(422, "RecordInvalid", f'{name} must be {{"id": <integer>}}')


ACTIVITY_TAX = ("no_tax", "tax_1_only", "tax_2_only", "tax_1_and_tax_2")


def _activity_changes(ctx: Ctx, data: dict[str, Any], activity_type: str) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    store = ctx.store
    for key, value in data.items():
        if key == "date":
            changes["date"] = _date(value, "date")
        elif key in ("note", "reference"):
            if value is not None and not isinstance(value, str):
                raise ApiError(422, "RecordInvalid", f"{key} must be a string")
            changes[key] = value
        elif key == "price":
            changes["price"] = _money(value, "price")
        elif key == "quantity":
            qty = _money(value, "quantity")
            if qty < 0:
                raise ApiError(422, "RecordInvalid", "quantity must not be negative")
            if activity_type == "TimeEntry":
                major = tuple(int(p) for p in ctx.version.split("."))
                seconds = qty if major >= (4, 0, 4) else qty * 3600
                changes["quantity"] = Decimal(int(seconds))
            else:
                changes["quantity"] = qty
        elif key in ("non_billable", "no_charge"):
            if not isinstance(value, bool):
                raise ApiError(422, "RecordInvalid", f"{key} must be true or false")
            changes[key] = value
        elif key == "tax_setting":
            if value not in ACTIVITY_TAX:
                raise ApiError(
                    422, "RecordInvalid", f"tax_setting must be one of {', '.join(ACTIVITY_TAX)}"
                )
            changes["tax_setting"] = value
        elif key in ("vendor", "matter", "user", "expense_category"):
            if value is None and key == "vendor":
                changes["vendor"] = None
                continue
            rid = _ref_id(value, key)
            resource = {
                "vendor": "contacts",
                "matter": "matters",
                "user": "users",
                "expense_category": "expense_categories",
            }[key]
            target = store.get(resource, rid)
            if target is None:
                raise ApiError(404, "RecordNotFound", f"{key} {rid} not found")
            if key == "expense_category":
                changes[key] = {
                    "id": rid,
                    "name": target["name"],
                    "entry_type": target["entry_type"],
                }
            else:
                changes[key] = {"id": rid}
        # anything else is silently dropped, as Clio does
    return changes


async def _create_activity(ctx: Ctx) -> Response:
    data = await _body_data(ctx)
    kind = data.get("type")
    if kind not in ("TimeEntry", "ExpenseEntry", "HardCostEntry", "SoftCostEntry"):
        raise ApiError(
            422,
            "RecordInvalid",
            "type must be TimeEntry, ExpenseEntry, HardCostEntry or SoftCostEntry",
        )
    changes = _activity_changes(ctx, data, kind)
    if "matter" not in changes:
        raise ApiError(422, "RecordInvalid", "matter is required")
    books = ctx.state.books
    user_id = changes.get("user", {"id": ctx.token.grant.user_id})["id"]
    day = date.fromisoformat(changes.get("date") or ctx.state.now_dt().date().isoformat())
    if kind == "TimeEntry":
        user = ctx.store.get("users", user_id)
        price = changes.get("price", to_decimal(user["rate"]) if user else Decimal(0))
        record = books.time_entry(
            matter_id=changes["matter"]["id"],
            user_id=user_id,
            day=day,
            seconds=int(changes.get("quantity", Decimal(0))),
            price=price,
            note=changes.get("note") or "",
            non_billable=changes.get("non_billable", False),
        )
    else:
        category = None
        if "expense_category" in changes:
            category = ctx.store.get("expense_categories", changes["expense_category"]["id"])
        record = books.expense_entry(
            kind=kind,
            matter_id=changes["matter"]["id"],
            user_id=user_id,
            day=day,
            quantity=changes.get("quantity", Decimal(1)),
            price=changes.get("price", Decimal(0)),
            note=changes.get("note") or "",
            category=category,
            tax_setting=changes.get("tax_setting", "no_tax"),
            vendor_id=changes["vendor"]["id"] if changes.get("vendor") else None,
            reference=changes.get("reference"),
            non_billable=changes.get("non_billable", False),
        )
    specs = ctx.fields("Activity")
    return json_response({"data": ctx.render(record, "Activity", specs)}, 201)


BILL_PATCH = {
    "state",
    "issued_at",
    "due_at",
    "number",
    "memo",
    "subject",
    "purchase_order",
    "tax_rate",
    "secondary_tax_rate",
    "discount",
    "use_grace_period",
    "currency_id",
    "bill_theme",
    "interest",
}


async def _patch(ctx: Ctx, resource: str, rid: int) -> Response:
    record = ctx.store.get(resource, rid)
    if record is None:
        raise ApiError(404, "RecordNotFound", f"The requested {resource[:-1]} was not found")
    data = await _body_data(ctx)
    _check_if_match(ctx, record)
    books = ctx.state.books
    model = _model(resource)
    specs = ctx.fields(model)
    if resource == "activities":
        changes = _activity_changes(ctx, data, record["type"])
        if changes:
            record = books.edit_activity(record, changes)
    elif resource == "bills":
        changes = {k: v for k, v in data.items() if k in BILL_PATCH}
        state_change = changes.pop("state", None)
        for k in ("issued_at", "due_at"):
            if k in changes:
                changes[k] = _date(changes[k], k)
        if "tax_rate" in changes:
            changes["tax_rate"] = _money(changes["tax_rate"], "tax_rate")
        if "discount" in changes:
            disc = changes["discount"]
            if not isinstance(disc, dict):
                raise ApiError(422, "RecordInvalid", "discount must be an object")
            clean: dict[str, Any] = {}
            if "rate" in disc:
                clean["rate"] = _money(disc["rate"], "discount.rate")
            if "type" in disc:
                if disc["type"] not in ("percentage", "money"):
                    raise ApiError(
                        422, "RecordInvalid", "discount.type must be percentage or money"
                    )
                clean["type"] = disc["type"]
            if "note" in disc:
                clean["note"] = disc["note"]
            changes["discount"] = clean
        for k in (
            "use_grace_period",
            "currency_id",
            "bill_theme",
            "interest",
            "secondary_tax_rate",
        ):
            changes.pop(k, None)
        for k in ("number", "memo", "subject", "purchase_order"):
            if k in changes and changes[k] is not None and not isinstance(changes[k], str):
                raise ApiError(422, "RecordInvalid", f"{k} must be a string")
        if changes:
            record = books.edit_bill(record, changes)
        if state_change is not None:
            if state_change not in (
                "draft",
                "awaiting_approval",
                "awaiting_payment",
                "paid",
                "void",
                "deleted",
            ):
                raise ApiError(422, "RecordInvalid", "Invalid state")
            record = books.set_bill_state(record, state_change)
    elif resource == "line_items":
        update_original = bool(data.get("update_original_record"))
        changes = {}
        for k, v in data.items():
            if k in ("price", "quantity"):
                changes[k] = _money(v, k)
            elif k == "date":
                changes[k] = _date(v, k)
            elif k in ("description", "note"):
                changes[k] = v if v is None or isinstance(v, str) else str(v)
            elif k == "taxable":
                if not isinstance(v, bool):
                    raise ApiError(422, "RecordInvalid", "taxable must be true or false")
                changes[k] = v
        record = books.edit_line_item(record, changes, update_original)
    elif resource == "trust_line_items":
        if "total" in data:
            record["total"] = _money(data["total"], "total")
        if "note" in data:
            record["note"] = data["note"]
        if "date" in data:
            record["date"] = _date(data["date"], "date")
        books.save("trust_line_items", record)
        bill = books.get("bills", record["bill"]["id"])
        books.recompute_bill(bill)
    elif resource == "webhooks":
        record = _update_webhook(ctx, record, data)
    record = ctx.store.get(resource, rid) or record
    return json_response(
        {"data": ctx.render(record, model, specs)}, headers=_record_headers(record)
    )


def _delete(ctx: Ctx, resource: str, rid: int) -> Response:
    record = ctx.store.get(resource, rid)
    if record is None:
        raise ApiError(404, "RecordNotFound", f"The requested {resource[:-1]} was not found")
    books = ctx.state.books
    if resource == "activities":
        books.delete_activity(record)
    elif resource == "bills":
        books.delete_bill(record)
    elif resource == "line_items":
        books.delete_line_item(record)
    elif resource == "webhooks":
        ctx.store.delete("webhooks", rid)
    return Response(status_code=204)


# ----------------------------------------------------------------------------- webhooks


def _webhook_expiry(ctx: Ctx, raw: Any) -> str:
    from datetime import UTC, datetime, timedelta

    from .timeutil import format_ts

    now = ctx.state.now_dt()
    if raw is None:
        return format_ts(now + timedelta(days=3))
    if not isinstance(raw, str):
        raise ApiError(422, "RecordInvalid", "expires_at must be a date-time")
    try:
        when = parse_ts(raw)
    except ValueError:
        raise ApiError(422, "RecordInvalid", "expires_at must be a date-time") from None
    if when <= now:
        raise ApiError(422, "RecordInvalid", "expires_at must be in the future")
    if when > now + timedelta(days=31):
        raise ApiError(422, "RecordInvalid", "expires_at must be at most 31 days away")
    return format_ts(when.astimezone(UTC) if isinstance(when, datetime) else when)


def _validate_webhook(data: dict[str, Any], partial: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "url" in data or not partial:
        url = data.get("url")
        if not isinstance(url, str) or not url:
            raise ApiError(422, "RecordInvalid", "url is required")
        if not is_loopback_url(url):
            raise ApiError(
                422,
                "RecordInvalid",
                "The sandbox only delivers webhooks to loopback addresses (127.0.0.0/8, ::1, localhost)",
            )
        out["url"] = url
    if "model" in data or not partial:
        model = data.get("model")
        if isinstance(model, int) and not isinstance(model, bool):
            names = list(WEBHOOK_MODELS)
            order = [
                "matter",
                "activity",
                "bill",
                "calendar_entry",
                "communication",
                "contact",
                "task",
                "document",
                "folder",
                "clio_payments_payment",
            ]
            model = order[model - 1] if 1 <= model <= len(order) else None
            _ = names
        if model not in WEBHOOK_MODELS:
            raise ApiError(
                422, "RecordInvalid", f"model must be one of {', '.join(WEBHOOK_MODELS)}"
            )
        out["model"] = model
    if "fields" in data or not partial:
        fields = data.get("fields")
        if not isinstance(fields, str) or not fields:
            raise ApiError(422, "RecordInvalid", "fields is required")
        if len(fields) > 1000:
            raise ApiError(422, "RecordInvalid", "fields may be at most 1000 characters")
        out["fields"] = fields
    if "events" in data:
        events = data["events"]
        allowed = {
            "created",
            "updated",
            "deleted",
            "matter_opened",
            "matter_pended",
            "matter_closed",
        }
        if not isinstance(events, list) or not all(
            isinstance(e, str) and e in allowed for e in events
        ):
            raise ApiError(
                422,
                "RecordInvalid",
                "events must be a list of created, updated, deleted (and matter_* for matters)",
            )
        out["events"] = events
    return out


async def _create_webhook(ctx: Ctx) -> Response:
    data = await _body_data(ctx)
    clean = _validate_webhook(data, partial=False)
    schema_model = {
        "matter": "Matter",
        "activity": "Activity",
        "bill": "Bill",
        "contact": "Contact",
    }.get(clean["model"])
    if schema_model:
        try:
            parse_fields(clean["fields"], schema_model)
        except FieldsError as exc:
            raise ApiError(422, "RecordInvalid", f"fields: {exc}") from None
    events = clean.get("events") or ["created", "updated", "deleted"]
    if clean["model"] == "clio_payments_payment" and "deleted" in events:
        raise ApiError(422, "RecordInvalid", "clio_payments_payment has no deleted event")
    hook = ctx.state.books.create(
        "webhooks",
        {
            "url": clean["url"],
            "fields": clean["fields"],
            "shared_secret": ctx.hooks.new_secret(),
            "model": clean["model"],
            "status": "pending",
            "events": events,
            "expires_at": _webhook_expiry(ctx, data.get("expires_at")),
            "user": {"id": ctx.token.grant.user_id},
        },
    )
    ctx.hooks.start_handshake(hook)
    specs = ctx.fields("Webhook")
    return json_response({"data": ctx.render(hook, "Webhook", specs)}, 201)


def _update_webhook(ctx: Ctx, hook: Record, data: dict[str, Any]) -> Record:
    clean = _validate_webhook(data, partial=True)
    url_changed = "url" in clean and clean["url"] != hook["url"]
    hook.update(clean)
    if "expires_at" in data:
        hook["expires_at"] = _webhook_expiry(ctx, data["expires_at"])
    if url_changed:
        hook["status"] = "pending"
    ctx.state.books.save("webhooks", hook)
    if url_changed:
        ctx.hooks.start_handshake(hook)
    return hook


def _activate_webhook(ctx: Ctx, rid: int) -> Response:
    hook = ctx.store.get("webhooks", rid)
    if hook is None:
        raise ApiError(404, "RecordNotFound", "Webhook not found")
    secret = ctx.request.headers.get("x-hook-secret")
    if secret is None or not hmac.compare_digest(secret, hook["shared_secret"]):
        raise ApiError(422, "RecordInvalid", "X-Hook-Secret does not match")
    hook = ctx.hooks.activate(rid) or hook
    return json_response({"data": ctx.render(hook, "Webhook", ctx.fields("Webhook"))})


# ----------------------------------------------------------------------------- trust requests


async def _create_trust_request(ctx: Ctx) -> Response:
    data = await _body_data(ctx)
    for key in ("trust_amount", "trust_type", "client_id", "issue_date", "due_date", "approved"):
        if key not in data:
            raise ApiError(422, "RecordInvalid", f"{key} is required")
    amount = _money(data["trust_amount"], "trust_amount")
    if amount <= 0:
        raise ApiError(422, "RecordInvalid", "trust_amount must be positive")
    if data["trust_type"] not in ("client", "matter"):
        raise ApiError(422, "RecordInvalid", "trust_type must be client or matter")
    matters = data.get("matter") or []
    if not isinstance(matters, list) or not matters or not isinstance(matters[0], dict):
        raise ApiError(
            422,
            "RecordInvalid",
            "the sandbox needs matter: [{id}] (client-level trust requests are not modelled)",
        )
    matter_id = _ref_id(matters[0], "matter")
    matter = ctx.store.get("matters", matter_id)
    if matter is None or matter["client"]["id"] != data["client_id"]:
        raise ApiError(422, "RecordInvalid", "matter does not belong to client_id")
    bill = ctx.state.books.trust_request(
        matter_id=matter_id,
        amount=amount,
        issue_date=date.fromisoformat(_date(data["issue_date"], "issue_date")),
        due_date=date.fromisoformat(_date(data["due_date"], "due_date")),
        note=data.get("note"),
        approved=bool(data["approved"]),
    )
    return json_response({"data": {"id": bill["id"], "etag": bill["etag"]}}, 201)

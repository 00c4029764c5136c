"""HTTP routes: thin. Parse and check the query, call the report, render it in the format asked
for (``?format=json|csv|pdf``, else the Accept header, else JSON).

Every report route is ``GET /firms/{firm_id}/reports/...`` and needs a viewer's token for that
firm (another firm's token gets 404). A query parameter a report does not take is an error, not
something silently ignored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cashroom_chassis.auth import Principal, Role, require
from cashroom_chassis.db import Database
from cashroom_reporting import chart_of_accounts, reports
from cashroom_reporting.db import queries
from cashroom_reporting.domain.chart import (
    Account,
    AccountRole,
    AccountType,
    ChartDeclarationError,
)
from cashroom_reporting.domain.document import EVERY_ROW, Page, Report
from cashroom_reporting.domain.vat import Jurisdiction, Scheme
from cashroom_reporting.rendering.formats import to_csv, to_json, to_pdf
from cashroom_reporting.settings import Settings

log = logging.getLogger(__name__)

Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]

FORMATS = {"json": "application/json", "csv": "text/csv", "pdf": "application/pdf"}
COMMON = {"format", "currency", "page", "page_size"}
DEFAULT_PAGE_SIZE = 500


class BadQuery(reports.ReportError):
    status = 400


class NotAcceptable(reports.ReportError):
    status = 406


def _query(request: Request, allowed: set[str]) -> Mapping[str, str]:
    params = request.query_params
    unknown = sorted(set(params.keys()) - allowed - COMMON)
    if unknown:
        raise BadQuery(
            f"unknown query parameter(s) {', '.join(unknown)}; this report takes "
            f"{', '.join(sorted(allowed | COMMON))}"
        )
    for name in params:
        if len(params.getlist(name)) > 1:
            raise BadQuery(f"query parameter {name} is given more than once")
    return params


def _date(params: Mapping[str, str], name: str, default: date | None = None) -> date:
    raw = params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise reports.Invalid(f"{name} is required (a date, YYYY-MM-DD)")
        return default
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise reports.Invalid(f"{name}={raw!r} is not a date (YYYY-MM-DD)") from None
    if not reports.EARLIEST <= day <= reports.LATEST:
        raise reports.Invalid(
            f"{name}={raw!r} is outside the dates reports cover "
            f"({reports.EARLIEST} to {reports.LATEST})"
        )
    return day


_LARGEST = 2**31 - 1
"""No count, page, number of days or limit a report takes comes near this; beyond it a value
would overflow a date or a database integer (a 500), so it is refused as bad input."""


def _int(params: Mapping[str, str], name: str, default: int, *, largest: int = _LARGEST) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise reports.Invalid(f"{name}={raw!r} is not a whole number") from None
    if abs(value) > largest:
        raise reports.Invalid(f"{name}={raw!r} is out of range: at most {largest:,}")
    return value


_CENTURY = 36_525
"""The most days the breach register looks back for a late reconciliation (further back than
year 1 is not a date). The dormant listing takes any count: longer than its dates go, it lists
nothing."""
_MONEY_LARGEST = 10**15
"""The largest amount in minor units a query may name (ten trillion pounds or euros)."""


def _bool(params: Mapping[str, str], name: str) -> bool:
    raw = (params.get(name) or "false").lower()
    if raw not in {"true", "false", "1", "0", "yes", "no"}:
        raise reports.Invalid(f"{name}={raw!r} is not true or false")
    return raw in {"true", "1", "yes"}


def _currency(params: Mapping[str, str]) -> str | None:
    raw = params.get("currency")
    if raw is None or raw == "":
        return None
    if len(raw) != 3 or not raw.isalpha() or not raw.isupper():
        raise reports.Invalid(f"currency={raw!r} is not an ISO 4217 code such as GBP or EUR")
    return raw


def _format(request: Request) -> str:
    asked = request.query_params.get("format")
    if asked is not None:
        if asked not in FORMATS:
            raise BadQuery(f"format={asked!r} is not one of json, csv, pdf")
        return asked
    accept = request.headers.get("accept", "")
    if not accept:
        return "json"
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in ("*/*", "application/*", "application/json"):
            return "json"
        if media in ("text/csv", "text/*"):
            return "csv"
        if media == "application/pdf":
            return "pdf"
    raise NotAcceptable(
        f"cannot answer with {accept!r}; ask for application/json, text/csv or application/pdf"
    )


def _today() -> date:
    return datetime.now(UTC).date()


def _page(params: Mapping[str, str]) -> tuple[int, int]:
    """JSON rows come a page at a time (``page`` from 1, ``page_size`` rows, 0 for all);
    CSV and PDF always carry every row."""
    page = _int(params, "page", 1)
    size = _int(params, "page_size", DEFAULT_PAGE_SIZE)
    if page < 1:
        raise reports.Invalid("page must be 1 or more")
    if size < 0:
        raise reports.Invalid("page_size must be 0 (every row) or more")
    return page, size


def _render(report: Report, fmt: str, page: tuple[int, int] = (1, 0)) -> Response:
    name = f"{report.kind}-{report.firm_id}"
    if fmt == "csv":
        return Response(
            to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if fmt == "pdf":
        return Response(
            to_pdf(report),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
        )
    return Response(to_json(report, page=page[0], page_size=page[1]), media_type="application/json")


def build_router(
    db: Database, settings: Settings, rebuild: Callable[[str], Coroutine[Any, Any, Any]]
) -> APIRouter:
    router = APIRouter(prefix="/firms/{firm_id}", tags=["reports"])

    async def serve(
        request: Request,
        allowed: set[str],
        make: Callable[[AsyncSession, Mapping[str, str], Page], Awaitable[Report]],
    ) -> Response:
        """``make`` gets the page of rows to build: JSON's page, every row for CSV and PDF."""
        params = _query(request, allowed)
        fmt = _format(request)
        page = _page(params)
        async with db.transaction() as session:
            await session.execute(_READ_ONLY)
            await session.execute(_CUSTOM_PLANS)
            report = await make(session, params, Page(*page) if fmt == "json" else EVERY_ROW)
        return _render(report, fmt, page)

    @router.get("/reports/trial-balance", summary="Trial balance as of a date")
    async def trial_balance(firm_id: str, request: Request, _: Viewer) -> Response:
        return await serve(
            request,
            {"as_of"},
            lambda s, p, _: reports.trial_balance(
                s, firm_id, _currency(p), _date(p, "as_of", _today())
            ),
        )

    @router.get("/reports/profit-and-loss", summary="Profit and loss for a period")
    async def profit_and_loss(firm_id: str, request: Request, _: Viewer) -> Response:
        return await serve(
            request,
            {"from", "to"},
            lambda s, p, _: reports.profit_and_loss(
                s, firm_id, _currency(p), _date(p, "from"), _date(p, "to")
            ),
        )

    @router.get("/reports/balance-sheet", summary="Balance sheet as of a date")
    async def balance_sheet(firm_id: str, request: Request, _: Viewer) -> Response:
        return await serve(
            request,
            {"as_of"},
            lambda s, p, _: reports.balance_sheet(
                s, firm_id, _currency(p), _date(p, "as_of", _today())
            ),
        )

    @router.get("/reports/client-ledger-balances", summary="Client ledger balances with tie-out")
    async def client_ledger_balances(firm_id: str, request: Request, _: Viewer) -> Response:
        return await serve(
            request,
            {"as_of", "include_zero"},
            lambda s, p, pg: reports.client_ledger_balances(
                s,
                firm_id,
                _currency(p),
                _date(p, "as_of", _today()),
                include_zero=_bool(p, "include_zero"),
                dormant_after_days=settings.dormant_after_days,
                page=pg,
            ),
        )

    @router.get(
        "/reports/matter-ledger/{matter}",
        summary="Matter ledger card (the matter by its Clio id or its reference)",
    )
    async def matter_ledger(firm_id: str, matter: str, request: Request, _: Viewer) -> Response:
        return await serve(
            request,
            {"from", "to"},
            lambda s, p, _: reports.matter_ledger(
                s,
                firm_id,
                _currency(p),
                matter,
                _date(p, "from") if p.get("from") else None,
                _date(p, "to", _today()),
            ),
        )

    @router.get("/reports/nominal-ledger/{code}", summary="A nominal's lines and running balance")
    async def nominal_ledger(firm_id: str, code: str, request: Request, _: Viewer) -> Response:
        return await serve(
            request,
            {"from", "to"},
            lambda s, p, _: reports.nominal_ledger(
                s, firm_id, _currency(p), code, _date(p, "from"), _date(p, "to")
            ),
        )

    @router.get("/reports/aged-debtors", summary="Aged debtors, tied to debtors control")
    async def aged_debtors(firm_id: str, request: Request, _: Viewer) -> Response:
        return await serve(
            request,
            {"as_of"},
            lambda s, p, pg: reports.aged_debtors(
                s, firm_id, _currency(p), _date(p, "as_of", _today()), page=pg
            ),
        )

    @router.get(
        "/reports/aged-creditors", summary="Aged creditors, tied to purchase ledger control"
    )
    async def aged_creditors(firm_id: str, request: Request, _: Viewer) -> Response:
        return await serve(
            request,
            {"as_of"},
            lambda s, p, pg: reports.aged_creditors(
                s, firm_id, _currency(p), _date(p, "as_of", _today()), page=pg
            ),
        )

    @router.get("/reports/unbilled", summary="Unbilled disbursements and work in progress")
    async def unbilled(firm_id: str, request: Request, _: Viewer) -> Response:
        return await serve(
            request,
            {"as_of"},
            lambda s, p, pg: reports.unbilled(
                s, firm_id, _currency(p), _date(p, "as_of", _today()), page=pg
            ),
        )

    @router.get(
        "/reports/vat-return",
        summary="VAT return: UK 9 boxes or Irish VAT3 (default: the firm's jurisdiction)",
    )
    async def vat_return(firm_id: str, request: Request, _: Viewer) -> Response:
        def scheme(p: Mapping[str, str]) -> Scheme | None:
            raw = p.get("scheme")
            if raw is None or raw == "":
                return None  # the firm's own: its jurisdiction
            try:
                return Scheme(raw)
            except ValueError:
                raise reports.Invalid(f"scheme={raw!r} is not uk or ie") from None

        return await serve(
            request,
            {"from", "to", "scheme"},
            lambda s, p, _: reports.vat_return(
                s, firm_id, _currency(p), _date(p, "from"), _date(p, "to"), scheme(p)
            ),
        )

    @router.get("/reports/dormant-balances", summary="Dormant and residual client balances")
    async def dormant_balances(firm_id: str, request: Request, _: Viewer) -> Response:
        return await serve(
            request,
            {"as_of", "older_than_days", "residual_limit"},
            lambda s, p, pg: reports.dormant_balances(
                s,
                firm_id,
                _currency(p),
                _date(p, "as_of", _today()),
                older_than_days=_int(p, "older_than_days", settings.dormant_after_days),
                residual_limit=_int(
                    p, "residual_limit", settings.residual_limit_minor, largest=_MONEY_LARGEST
                ),
                page=pg,
            ),
        )

    @router.get("/reports/breach-register", summary="Breach register")
    async def breach_register(firm_id: str, request: Request, _: Viewer) -> Response:
        return await serve(
            request,
            {"as_of", "reconciliation_days"},
            lambda s, p, _: reports.breach_register(
                s,
                firm_id,
                _currency(p),
                _date(p, "as_of", _today()),
                reconciliation_days=_int(
                    p, "reconciliation_days", settings.reconciliation_days, largest=_CENTURY
                ),
            ),
        )

    @router.get("/reports/sync-summary", summary="Clio sync summary")
    async def sync_summary(firm_id: str, request: Request, _: Viewer) -> Response:
        return await serve(
            request, set(), lambda s, p, _: reports.sync_summary(s, firm_id, _today())
        )

    @router.get("/reports/audit-trail", summary="Audit trail, a page at a time")
    async def audit_trail(firm_id: str, request: Request, _: Viewer) -> Response:
        return await serve(
            request,
            {"from", "to", "limit", "offset", "entity_type", "action"},
            lambda s, p, _: reports.audit_trail(
                s,
                firm_id,
                _date(p, "from"),
                _date(p, "to"),
                limit=_int(p, "limit", 500),
                offset=_int(p, "offset", 0),
                entity_type=p.get("entity_type") or None,
                action=p.get("action") or None,
            ),
        )

    @router.get("/reports", summary="The reports, and how fresh they are")
    async def index(firm_id: str, _: Viewer) -> JSONResponse:
        async with db.transaction() as session:
            ctx = await reports.context(session, firm_id, None)
        base = f"/firms/{firm_id}/reports/"
        return JSONResponse(
            {
                "firm": firm_id,
                "reports": [base + name for name in reports.REPORT_NAMES],
                "formats": list(FORMATS),
                "consistent_with": {
                    "positions": [
                        {"topic": p.topic, "partition": p.partition, "offset": p.offset}
                        for p in ctx.consistency.positions
                    ],
                    "last_event_time": (
                        ctx.consistency.last_event_time.isoformat()
                        if ctx.consistency.last_event_time
                        else None
                    ),
                },
            }
        )

    # --- administration --------------------------------------------------------------------

    @router.get("/chart-of-accounts", tags=["administration"], summary="The chart the reports use")
    async def get_chart(firm_id: str, _: Viewer) -> JSONResponse:
        async with db.transaction() as session:
            chart = await chart_of_accounts.load_chart(session, firm_id)
        return JSONResponse(
            {
                "accounts": [
                    {
                        "code": a.code,
                        "name": a.name,
                        "type": a.type.value,
                        "role": a.role.value if a.role else None,
                        "declared": a.declared,
                    }
                    for a in sorted(chart.accounts.values(), key=lambda a: a.code)
                ]
            }
        )

    @router.put("/chart-of-accounts", tags=["administration"], summary="Declare the ledger's chart")
    async def put_chart(firm_id: str, body: ChartBody, _: Admin) -> JSONResponse:
        accounts = [Account(a.code, a.name, a.type, a.role, declared=True) for a in body.accounts]
        try:
            async with db.transaction() as session:
                await chart_of_accounts.declare(session, firm_id, accounts)
        except ChartDeclarationError as error:
            return JSONResponse({"detail": error.problems}, status_code=422)
        return JSONResponse({"declared": len(accounts)})

    @router.put("/profile", tags=["administration"], summary="The firm's name on reports")
    async def put_profile(firm_id: str, body: ProfileBody, _: Admin) -> JSONResponse:
        jurisdiction = body.jurisdiction.value if body.jurisdiction else None
        async with db.transaction() as session:
            await session.execute(
                _UPSERT_PROFILE, {"f": firm_id, "n": body.name, "j": jurisdiction}
            )
        return JSONResponse({"name": body.name, "jurisdiction": jurisdiction})

    @router.post("/rebuild", tags=["administration"], summary="Rebuild the read models from events")
    async def start_rebuild(firm_id: str, _: Admin) -> JSONResponse:
        async with db.transaction() as session:
            state = await queries.firm_state(session, firm_id)
        if state is not None and state.rebuilding and state.rebuild_error is None:
            return JSONResponse(
                {"detail": "a rebuild of this firm is already running"}, status_code=409
            )
        task = asyncio.create_task(rebuild(firm_id), name=f"rebuild-{firm_id}")
        _RUNNING.add(task)
        task.add_done_callback(_RUNNING.discard)
        return JSONResponse({"status": "started", "firm": firm_id}, status_code=202)

    @router.get("/rebuild", tags=["administration"], summary="How the last rebuild went")
    async def rebuild_status(firm_id: str, _: Admin) -> JSONResponse:
        async with db.transaction() as session:
            state = await queries.firm_state(session, firm_id)
        if state is None:
            raise reports.NotFound(
                f"no events for firm {firm_id!r} have reached the reporting service"
            )
        return JSONResponse(
            {
                "rebuilding": state.rebuilding,
                "started_at": state.rebuild_started_at.isoformat()
                if state.rebuild_started_at
                else None,
                "finished_at": state.rebuild_finished_at.isoformat()
                if state.rebuild_finished_at
                else None,
                "events_applied": state.rebuild_events,
                "error": state.rebuild_error,
            }
        )

    return router


_RUNNING: set[asyncio.Task[Any]] = set()
_READ_ONLY = text("SET TRANSACTION READ ONLY")
_CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")
"""Plan each report's statements for its own dates: a plan kept for another as-of date can be
many times slower (how many balances moved after the date decides the best plan)."""
_UPSERT_PROFILE = text(
    "INSERT INTO firms (firm_id, name, jurisdiction) VALUES (:f, :n, :j) "
    "ON CONFLICT (firm_id) DO UPDATE SET name = COALESCE(:n, firms.name), "
    "jurisdiction = COALESCE(:j, firms.jurisdiction)"
)


class AccountBody(BaseModel):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1)
    type: AccountType
    role: AccountRole | None = None


class ChartBody(BaseModel):
    accounts: list[AccountBody]


class ProfileBody(BaseModel):
    """Either or both: the firm's name on reports; its jurisdiction (``ie`` Ireland, ``ew``
    England and Wales), which the VAT return's default scheme follows."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    jurisdiction: Jurisdiction | None = None

    @model_validator(mode="after")
    def something_given(self) -> ProfileBody:
        if self.name is None and self.jurisdiction is None:
            raise ValueError("give the firm's name, its jurisdiction (ie or ew), or both")
        return self


def install(
    app: FastAPI,
    db: Database,
    settings: Settings,
    rebuild: Callable[[str], Coroutine[Any, Any, Any]],
) -> None:
    app.include_router(build_router(db, settings, rebuild))

    @app.exception_handler(reports.ReportError)
    async def report_error(request: Request, error: reports.ReportError) -> JSONResponse:
        headers = {"Retry-After": "30"} if isinstance(error, reports.Unavailable) else None
        return JSONResponse({"detail": error.message}, status_code=error.status, headers=headers)

"""The connector's HTTP API (tmp/apis.md, "clio-connector"): link Clio, settings, syncs and their
progress, the sync log and its resolutions, the webhook receiver, and the firm's sync status.

Every route under ``/firms/{firm_id}`` needs a bearer token for that firm (chassis auth); the
OAuth callback is bound to the firm by its single-use state, and the webhook receiver by Clio's
signature.
"""

from __future__ import annotations

import html
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cashroom_chassis.auth import Principal, Role, require
from cashroom_contracts.events.common import VatTreatment
from cashroom_contracts.money import Money
from clio_connector.connections import Connections, LinkError
from clio_connector.domain.fields import SYNC_ORDER
from clio_connector.domain.settings import SyncSettings
from clio_connector.domain.sync_rules import POLLED_RESOURCES
from clio_connector.ledger_client import LedgerUnavailable
from clio_connector.resolutions import Resolutions, ResolveError
from clio_connector.runner import SyncRunner
from clio_connector.runs import Run, Runs, SyncAlreadyRunning, SyncKind, SyncTrigger
from clio_connector.settings_store import SettingsStore
from clio_connector.sync_log import LogQuery, SyncLog, UnknownFilter
from clio_connector.webhooks import Webhooks


@dataclass(frozen=True)
class Services:
    connections: Connections
    settings_store: SettingsStore
    runs: Runs
    runner: SyncRunner
    sync_log: SyncLog
    resolutions: Resolutions
    webhooks: Webhooks


# --- Bodies --------------------------------------------------------------------------------------


class LinkBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    redirect_uri: str | None = Field(
        default=None, description="This service's callback, if not CLIO_REDIRECT_URI."
    )


class SyncBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: SyncKind = SyncKind.INCREMENTAL


class ChooseVatTreatment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["choose_vat_treatment"]
    vat_treatment: VatTreatment
    vat_rate_basis_points: int | None = Field(default=None, ge=0, le=10_000)
    vat_amount: Money | None = None


class MarkOutlayPaid(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["mark_outlay_paid"]
    bank_account_id: int = Field(gt=0)
    paid_on: date
    amount: Money | None = None


class Retry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["retry"]


class ResolveBody(BaseModel):
    resolution: ChooseVatTreatment | MarkOutlayPaid | Retry = Field(discriminator="action")


log = logging.getLogger(__name__)

viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
cashier = Annotated[Principal, Depends(require(Role.CASHIER))]
admin = Annotated[Principal, Depends(require(Role.ADMIN))]


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _first_problem(error: Exception) -> str:
    """One line for a refused body: pydantic's first error with where it is, not its essay."""
    if isinstance(error, ValidationError) and error.errors():
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _seconds(start: datetime, end: datetime | None) -> float:
    return ((end or datetime.now(UTC)) - start).total_seconds()


def run_json(run: Run, ledger_pending: int) -> dict[str, Any]:
    names = ("pages", "records", "imported", "updated", "unchanged", "skipped", "flagged")
    totals = dict.fromkeys((*names, "deleted"), 0)
    for entry in run.progress.values():
        for name in totals:
            totals[name] += int(entry.get(name, 0))
    elapsed = _seconds(run.started_at, run.finished_at)
    return {
        "sync_id": str(run.id),
        "firm_id": run.firm_id,
        "kind": run.kind.value,
        "trigger": run.trigger.value,
        "status": run.status.value,
        "resources": list(run.resources),
        "requested_by": run.requested_by,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "heartbeat_at": run.heartbeat_at.isoformat(),
        "resumes": run.resumes,
        "error": run.error,
        "progress": run.progress,
        "totals": totals,
        "clio": run.clio_stats,
        "seconds": round(elapsed, 3),
        "ledger_pending": ledger_pending,
    }


def install(app: FastAPI, services: Services) -> None:
    router = APIRouter()
    app.state.connector = services

    # --- Link ------------------------------------------------------------------------------

    @router.post("/firms/{firm_id}/clio/link", tags=["link"], summary="Start linking Clio")
    async def start_link(firm_id: str, principal: admin, body: LinkBody | None = None) -> Any:
        try:
            request = await services.connections.start_link(
                firm_id,
                redirect_uri=body.redirect_uri if body else None,
                requested_by=principal.subject,
            )
        except LinkError as error:
            return _error(409, str(error))
        return {
            "authorize_url": request.authorize_url,
            "state": request.state,
            "expires_at": request.expires_at.isoformat(),
        }

    @router.get("/clio/oauth/callback", tags=["link"], summary="Clio's OAuth redirect")
    async def oauth_callback(request: Request) -> Response:
        wants_html = "text/html" in request.headers.get("accept", "")
        params = {k: v for k, v in request.query_params.items()}
        try:
            connection = await services.connections.complete_link(params)
        except LinkError as error:
            if wants_html:
                return HTMLResponse(_page("Clio was not linked", str(error)), status_code=400)
            return _error(400, str(error))
        try:
            webhooks = await services.webhooks.register(connection.firm_id)
        except Exception:  # linked all the same; the poller reads everything meanwhile
            log.exception("firm %s: webhooks not subscribed", connection.firm_id)
            webhooks = []
        body = {
            "linked": True,
            "firm_id": connection.firm_id,
            **connection.public(),
            "webhooks": [_webhook_json(w) for w in webhooks],
        }
        if wants_html:
            text = f"Cashroom can now read {connection.clio_firm_name or 'your firm'} in Clio."
            return HTMLResponse(_page("Clio linked", text))
        return JSONResponse(body)

    @router.delete("/firms/{firm_id}/clio/link", tags=["link"], summary="Unlink Clio")
    async def unlink(firm_id: str, principal: admin) -> Any:
        connection = await services.connections.get(firm_id)
        if connection is None:
            return _error(404, "this firm is not linked to Clio")
        await services.runner.cancel(firm_id)
        await services.webhooks.remove(firm_id)
        revoked = await services.connections.deauthorize(firm_id)
        await services.connections.forget(firm_id)
        return {"unlinked": True, "revoked_in_clio": revoked}

    @router.get("/firms/{firm_id}/clio/connection", tags=["link"], summary="The Clio link")
    async def connection(firm_id: str, principal: viewer) -> Any:
        found = await services.connections.get(firm_id)
        if found is None:
            return {"linked": False, "firm_id": firm_id}
        webhooks = await services.webhooks.subscriptions(firm_id)
        return {
            "firm_id": firm_id,
            **found.public(),
            "webhooks": [_webhook_json(w) for w in webhooks],
        }

    @router.post("/firms/{firm_id}/clio/webhooks", tags=["link"], summary="Subscribe again")
    async def register_webhooks(firm_id: str, principal: admin) -> Any:
        if await services.connections.get(firm_id) is None:
            return _error(409, "link Clio first")
        if not services.webhooks.enabled:
            return _error(409, "CONNECTOR_PUBLIC_URL is not set: Clio cannot reach this service")
        return [_webhook_json(w) for w in await services.webhooks.register(firm_id)]

    @router.get(
        "/firms/{firm_id}/clio/webhook-deliveries",
        tags=["link"],
        summary="What Clio delivered, valid or not",
    )
    async def deliveries(
        firm_id: str, principal: admin, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> Any:
        rows = await services.webhooks.deliveries(firm_id, limit=limit)
        return [
            {
                **{k: v for k, v in row.items() if k not in ("received_at", "processed_at")},
                "received_at": row["received_at"].isoformat(),
                "processed_at": row["processed_at"].isoformat() if row["processed_at"] else None,
            }
            for row in rows
        ]

    # --- Settings --------------------------------------------------------------------------

    @router.get("/firms/{firm_id}/settings", tags=["settings"], summary="The sync settings")
    async def get_settings(firm_id: str, principal: viewer) -> Any:
        stored = await services.settings_store.stored(firm_id)
        headers = {"X-Settings-Source": "default" if stored.is_default else "saved"}
        return JSONResponse(stored.settings.model_dump(mode="json"), headers=headers)

    @router.put("/firms/{firm_id}/settings", tags=["settings"], summary="Change the settings")
    async def put_settings(firm_id: str, principal: admin, request: Request) -> Any:
        try:
            raw = await request.json()
        except ValueError:
            return _error(422, "the body is not JSON")
        try:
            settings = SyncSettings.model_validate(raw)
        except ValidationError as error:
            return JSONResponse(
                {
                    "errors": [
                        {
                            "field": ".".join(str(part) for part in item["loc"]) or "(body)",
                            "message": item["msg"],
                        }
                        for item in error.errors()
                    ]
                },
                status_code=422,
            )
        try:
            errors = await services.settings_store.errors(firm_id, settings)
        except LedgerUnavailable as error:
            return _error(503, f"{error}; the settings were not saved")
        if errors:
            return JSONResponse(
                {"errors": [{"field": e.field, "message": e.message} for e in errors]},
                status_code=422,
            )
        await services.settings_store.save(firm_id, settings, by=principal.subject)
        return JSONResponse(
            settings.model_dump(mode="json"), headers={"X-Settings-Source": "saved"}
        )

    # --- Syncs -----------------------------------------------------------------------------

    @router.post("/firms/{firm_id}/syncs", tags=["sync"], summary="Sync now", status_code=202)
    async def start_sync(firm_id: str, principal: cashier, body: SyncBody | None = None) -> Any:
        kind = body.kind if body else SyncKind.INCREMENTAL
        connection = await services.connections.get(firm_id)
        if connection is None or connection.status != "linked":
            return _error(409, "link Clio first" if connection is None else "link Clio again")
        if (
            kind is SyncKind.FULL
            and not (await services.settings_store.get(firm_id)).allow_full_sync
        ):
            return _error(409, "a full sync is not allowed by the firm's sync settings")
        try:
            run, resumed = await services.runner.start_sync(
                firm_id,
                kind=kind,
                trigger=SyncTrigger.MANUAL,
                resources=SYNC_ORDER,
                requested_by=principal.subject,
            )
        except SyncAlreadyRunning as running:
            return _error(
                409,
                str(running),
                sync_id=str(running.running) if running.running else None,
            )
        return JSONResponse({**run_json(run, 0), "resumed": resumed}, status_code=202)

    @router.get("/firms/{firm_id}/syncs", tags=["sync"], summary="Recent syncs")
    async def list_syncs(
        firm_id: str,
        principal: viewer,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Any:
        runs = await services.runs.recent(firm_id, limit=limit, offset=offset)
        return [run_json(run, await services.runs.ledger_pending(firm_id, run.id)) for run in runs]

    @router.get("/firms/{firm_id}/syncs/{sync_id}", tags=["sync"], summary="A sync's progress")
    async def get_sync(firm_id: str, sync_id: uuid.UUID, principal: viewer) -> Any:
        run = await services.runs.get(firm_id, sync_id)
        if run is None:
            return _error(404, f"no sync {sync_id}")
        return run_json(run, await services.runs.ledger_pending(firm_id, run.id))

    @router.get("/firms/{firm_id}/status", tags=["sync"], summary="Last sync per object type")
    async def status(firm_id: str, principal: viewer) -> Any:
        connection = await services.connections.get(firm_id)
        cursors = await services.runs.cursors(firm_id)
        webhooks = await services.webhooks.subscriptions(firm_id)
        enabled = {w["model"] for w in webhooks if w["status"] == "enabled"}
        recent = await services.runs.recent(firm_id, limit=1)
        resources = []
        for resource in SYNC_ORDER:
            cursor = cursors.get(resource.path)
            resources.append(
                {
                    "resource": resource.path,
                    "object_type": resource.object_type,
                    "updates_by": (
                        "webhook"
                        if resource.webhook_model in enabled
                        else "poll"
                        if resource in POLLED_RESOURCES or not enabled
                        else "poll (webhook not active)"
                    ),
                    "last_synced_at": _iso(cursor.last_completed_at if cursor else None),
                    "last_sync_id": (
                        str(cursor.last_completed_run)
                        if cursor and cursor.last_completed_run
                        else None
                    ),
                    "last_full_read_at": _iso(cursor.last_full_read_at if cursor else None),
                    "high_water_mark": _iso(cursor.high_water_mark if cursor else None),
                }
            )
        return {
            "firm_id": firm_id,
            "linked": connection is not None and connection.status == "linked",
            "connection_status": connection.status if connection else None,
            "resources": resources,
            "last_sync": (
                run_json(recent[0], await services.runs.ledger_pending(firm_id, recent[0].id))
                if recent
                else None
            ),
            "ledger_pending": await services.runs.ledger_pending(firm_id),
        }

    # --- Sync log ----------------------------------------------------------------------------

    @router.get("/firms/{firm_id}/sync-log", tags=["sync log"], summary="Filter and search")
    async def sync_log(
        firm_id: str,
        principal: viewer,
        status: str | None = None,
        object_type: str | None = None,
        sync_id: uuid.UUID | None = None,
        reason: str | None = None,
        q: str | None = None,
        open_flags: bool = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Any:
        query = LogQuery(
            status=status,
            object_type=object_type,
            sync_id=sync_id,
            reason=reason,
            q=q,
            open_flags_only=open_flags,
            limit=limit,
            offset=offset,
        )
        try:
            total, lines = await services.sync_log.lines(firm_id, query)
        except UnknownFilter as error:
            return _error(422, str(error))
        return {"total": total, "limit": limit, "offset": offset, "lines": lines}

    @router.get("/firms/{firm_id}/sync-log/summary", tags=["sync log"], summary="Counts, money")
    async def summary(firm_id: str, principal: viewer, sync_id: uuid.UUID | None = None) -> Any:
        return await services.sync_log.summary(firm_id, sync_id)

    @router.get("/firms/{firm_id}/sync-log/{line_id}", tags=["sync log"], summary="One line")
    async def one_line(firm_id: str, line_id: int, principal: viewer) -> Any:
        line = await services.sync_log.line(firm_id, line_id)
        return line if line is not None else _error(404, f"no sync-log line {line_id}")

    @router.post(
        "/firms/{firm_id}/sync-log/{line_id}/resolve",
        tags=["sync log"],
        summary="Resolve a flagged line",
    )
    async def resolve(firm_id: str, line_id: int, principal: cashier, request: Request) -> Any:
        try:
            body = ResolveBody.model_validate({"resolution": await request.json()})
        except (ValueError, ValidationError) as error:
            return _error(422, f"not a resolution: {_first_problem(error)}")
        action = body.resolution
        resolutions = services.resolutions
        try:
            if isinstance(action, ChooseVatTreatment):
                result = await resolutions.choose_vat_treatment(
                    firm_id,
                    line_id,
                    treatment=action.vat_treatment,
                    rate_basis_points=action.vat_rate_basis_points,
                    vat_amount=action.vat_amount,
                    by=principal.subject,
                )
            elif isinstance(action, MarkOutlayPaid):
                result = await resolutions.mark_outlay_paid(
                    firm_id,
                    line_id,
                    bank_account_id=action.bank_account_id,
                    paid_on=action.paid_on,
                    amount=action.amount,
                    by=principal.subject,
                )
            else:
                result = await resolutions.retry(firm_id, line_id, by=principal.subject)
        except ResolveError as error:
            return _error(error.status, str(error))
        return result

    # --- Clio's webhooks ---------------------------------------------------------------------

    @router.post("/webhooks/clio/{firm_id}", tags=["webhooks"], summary="Clio webhook receiver")
    async def clio_webhook(firm_id: str, request: Request) -> Response:
        body = await request.body()
        answer = await services.webhooks.receive(firm_id, request.headers, body)
        return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)

    app.include_router(router)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _webhook_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": row["model"],
        "clio_webhook_id": row["clio_webhook_id"],
        "status": row["status"],
        "expires_at": _iso(row["expires_at"]),
        "renewed_at": _iso(row["renewed_at"]),
        "last_error": row["last_error"],
    }


def _page(title: str, text: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )

"""HTTP routes: thin. Read the request, run one use case in a unit of work, answer JSON.

Every route is under ``/firms/{firm_id}/`` and needs a bearer token for that firm (another
firm's token gets 404): viewers read, cashiers import, match and sign, admins change settings.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from cashroom_chassis.auth import Principal, Role, require
from cashroom_chassis.db import Database
from cashroom_reconciliation import views
from cashroom_reconciliation.csv_mapping import BadCsvMapping, read_mapping
from cashroom_reconciliation.db import repository
from cashroom_reconciliation.db.tables import breaches, firm_settings, reconciliations, statements
from cashroom_reconciliation.domain import ParseLimits, StatementError, StatementErrorKind
from cashroom_reconciliation.handlers import cadence, matching, reconciling
from cashroom_reconciliation.handlers import statements as importing
from cashroom_reconciliation.handlers.errors import NotFound, ServiceError
from cashroom_reconciliation.handlers.reconciling import ClientLedgersTotal
from cashroom_reconciliation.settings import Settings

Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Cashier = Annotated[Principal, Depends(require(Role.CASHIER))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]

ACCOUNT = "/firms/{firm_id}/bank-accounts/{bank_account_id}"


class AsOf(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: date


class ManualMatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line_ids: list[str] = Field(min_length=1, description="Bank ids of the statement lines.")
    entry_ids: list[str] = Field(min_length=1, description="Cashbook entry ids.")


class FirmSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    jurisdiction: Literal["ie", "ew", "us"]


class CadenceCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: date | None = Field(default=None, description="The day to check as of (default today).")


def _today() -> date:
    return datetime.now(UTC).date()


def _status_of(error: StatementError) -> int:
    if error.kind is StatementErrorKind.OVERSIZED:
        return 413
    if error.kind is StatementErrorKind.UNKNOWN_FORMAT:
        return 415
    return 422


def install(app: FastAPI, db: Database, settings: Settings, ledger: ClientLedgersTotal) -> None:
    router = APIRouter(tags=["reconciliation"])
    limits = ParseLimits(
        max_bytes=settings.statement_max_bytes, max_lines=settings.statement_max_lines
    )

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, error: ServiceError) -> JSONResponse:
        return JSONResponse({"detail": error.message, **error.extra}, status_code=error.status)

    @app.exception_handler(StatementError)
    async def statement_error(request: Request, error: StatementError) -> JSONResponse:
        return JSONResponse(
            {
                "detail": str(error),
                "kind": error.kind.value,
                "location": error.location,
                "reason": error.reason,
            },
            status_code=_status_of(error),
        )

    @app.exception_handler(BadCsvMapping)
    async def bad_mapping(request: Request, error: BadCsvMapping) -> JSONResponse:
        return JSONResponse({"detail": str(error), "kind": "bad_csv_mapping"}, status_code=422)

    # --- the firm -------------------------------------------------------------------------------

    @router.get("/firms/{firm_id}/bank-accounts", summary="The firm's bank accounts")
    async def list_bank_accounts(firm_id: str, principal: Viewer) -> list[dict[str, Any]]:
        async with db.unit_of_work() as uow:
            rows = await repository.bank_account_rows(uow.session, firm_id)
            answer = []
            for row in rows:
                history = await repository.statement_history(
                    uow.session, firm_id, row.bank_account_id
                )
                answer.append(
                    {
                        "bank_account_id": row.bank_account_id,
                        "name": row.name,
                        "kind": row.kind,
                        "currency": row.currency,
                        "nominal_code": row.nominal_code,
                        "known_to_ledger": row.known_to_ledger,
                        "account_number_last4": row.account_number_last4,
                        "iban": row.iban,
                        "account_number": row.account_number,
                        "statements_through": max((s.period_end for s in history), default=None),
                        "reconciled_through": await repository.locked_through(
                            uow.session, firm_id, row.bank_account_id
                        ),
                    }
                )
            return answer

    @router.get("/firms/{firm_id}/settings", summary="The jurisdiction whose cadence applies")
    async def get_settings(firm_id: str, principal: Viewer) -> dict[str, Any]:
        async with db.unit_of_work() as uow:
            code, source = await cadence.firm_jurisdiction(uow, firm_id)
        return {"jurisdiction": code, "source": source}

    @router.put("/firms/{firm_id}/settings", summary="Set the firm's jurisdiction")
    async def put_settings(firm_id: str, body: FirmSettings, principal: Admin) -> dict[str, Any]:
        async with db.unit_of_work() as uow:
            values = {"jurisdiction": body.jurisdiction, "updated_by": principal.subject}
            await uow.session.execute(
                insert(firm_settings)
                .values(firm_id=firm_id, **values)
                .on_conflict_do_update(index_elements=[firm_settings.c.firm_id], set_=values)
            )
            await uow.commit()
        return {"jurisdiction": body.jurisdiction, "source": "setting"}

    @router.get("/firms/{firm_id}/breaches", summary="Breaches this service raised")
    async def list_breaches(firm_id: str, principal: Viewer) -> list[dict[str, Any]]:
        async with db.unit_of_work() as uow:
            rows = await uow.session.execute(
                select(breaches)
                .where(breaches.c.firm_id == firm_id)
                .order_by(breaches.c.raised_at, breaches.c.breach_id)
            )
            return [
                {
                    "breach_id": str(r.breach_id),
                    "kind": r.kind,
                    "bank_account_id": r.bank_account_id,
                    "detected_on": r.detected_on.isoformat(),
                    "due_by": r.due_by.isoformat() if r.due_by else None,
                    "last_reconciled_on": (
                        r.last_reconciled_on.isoformat() if r.last_reconciled_on else None
                    ),
                    "detail": r.detail,
                }
                for r in rows
            ]

    @router.post(
        "/firms/{firm_id}/cadence-checks",
        summary="Check the client accounts for a late reconciliation now",
    )
    async def check_cadence_now(
        firm_id: str, principal: Cashier, body: CadenceCheck | None = None
    ) -> dict[str, Any]:
        on = (body.on if body is not None else None) or _today()
        async with db.unit_of_work() as uow:
            result = await cadence.check_firm(uow, firm_id, today=on)
            await uow.commit()
        return {
            "checked_on": on.isoformat(),
            "jurisdiction": result.jurisdiction,
            "client_accounts_checked": result.accounts_checked,
            "breaches_raised": result.breaches_raised,
        }

    # --- statements -----------------------------------------------------------------------------

    @router.post(
        f"{ACCOUNT}/statements",
        status_code=201,
        summary="Import a statement file (camt.053, OFX, MT940, CSV)",
    )
    async def import_statement(
        firm_id: str,
        bank_account_id: int,
        principal: Cashier,
        file: Annotated[UploadFile, File(description="The bank's statement file.")],
        format: Annotated[str | None, Form(description="camt053, ofx, mt940 or csv")] = None,
        csv_mapping: Annotated[str | None, Form(description="The CSV layout, JSON")] = None,
    ) -> dict[str, Any]:
        data = await file.read(limits.max_bytes + 1)
        if len(data) > limits.max_bytes:
            raise StatementError(
                StatementErrorKind.OVERSIZED,
                f"the file is larger than the limit of {limits.max_bytes:,} bytes",
            )
        upload = importing.StatementFile(
            data=data,
            file_name=file.filename,
            declared_format=(format or "").strip().lower() or None,
            csv_mapping=read_mapping(csv_mapping) if csv_mapping else None,
        )
        async with db.unit_of_work() as uow:
            result = await importing.import_statement(
                uow,
                firm_id,
                bank_account_id,
                upload,
                by=principal.subject,
                today=_today(),
                limits=limits,
            )
            await uow.commit()
        return views.import_json(result)

    @router.get(f"{ACCOUNT}/statements", summary="Statements imported for the account")
    async def list_statements(
        firm_id: str, bank_account_id: int, principal: Viewer
    ) -> list[dict[str, Any]]:
        async with db.unit_of_work() as uow:
            await importing.load_account(uow, firm_id, bank_account_id)
            rows = await uow.session.execute(
                select(statements)
                .where(
                    statements.c.firm_id == firm_id,
                    statements.c.bank_account_id == bank_account_id,
                )
                .order_by(statements.c.imported_at)
            )
            return [
                {
                    "statement_id": str(r.statement_id),
                    "format": r.file_format,
                    "file_name": r.file_name,
                    "period_start": r.period_start.isoformat(),
                    "period_end": r.period_end.isoformat(),
                    "opening_balance": views.money_json(
                        repository.optional_money(r.opening_minor, r.currency)
                    ),
                    "closing_balance": views.money_json(
                        repository.optional_money(r.closing_minor, r.currency)
                    ),
                    "balances_stated": {
                        "opening": r.opening_stated_minor is not None,
                        "closing": r.closing_stated_minor is not None,
                    },
                    "lines_total": r.lines_total,
                    "lines_new": r.lines_new,
                    "lines_already_known": r.lines_already_known,
                    "breaks": r.breaks,
                    "imported_by": r.imported_by,
                    "imported_at": r.imported_at.isoformat(),
                }
                for r in rows
            ]

    @router.get(f"{ACCOUNT}/statement-lines", summary="The account's bank lines")
    async def list_lines(
        firm_id: str,
        bank_account_id: int,
        principal: Viewer,
        unmatched: bool = False,
        date_from: Annotated[date | None, Query(alias="from")] = None,
        date_to: Annotated[date | None, Query(alias="to")] = None,
    ) -> list[dict[str, Any]]:
        async with db.unit_of_work() as uow:
            await importing.load_account(uow, firm_id, bank_account_id)
            lines = await repository.load_lines(
                uow.session,
                firm_id,
                bank_account_id,
                unmatched_only=unmatched,
                booked_after=None if date_from is None else date_from - timedelta(days=1),
                booked_through=date_to,
            )
        return [views.line_json(line) for line in lines]

    @router.get(f"{ACCOUNT}/cashbook", summary="The cashbook mirror of the account")
    async def list_cashbook(
        firm_id: str,
        bank_account_id: int,
        principal: Viewer,
        unmatched: bool = False,
        date_from: Annotated[date | None, Query(alias="from")] = None,
        date_to: Annotated[date | None, Query(alias="to")] = None,
    ) -> list[dict[str, Any]]:
        async with db.unit_of_work() as uow:
            row = await repository.bank_account_row(uow.session, firm_id, bank_account_id)
            if row is None:
                raise NotFound(f"bank account {bank_account_id} is not known for this firm")
            entries = await repository.load_entries(
                uow.session,
                firm_id,
                bank_account_id,
                unmatched_only=unmatched,
                posted_from=date_from,
                posted_through=date_to,
            )
        return [views.stored_entry_json(e) for e in entries]

    # --- matching -------------------------------------------------------------------------------

    @router.post(f"{ACCOUNT}/auto-match", summary="Match what is unmatched, rule by rule")
    async def auto_match(firm_id: str, bank_account_id: int, principal: Cashier) -> dict[str, Any]:
        async with db.unit_of_work() as uow:
            result = await matching.run_auto_match(
                uow, firm_id, bank_account_id, by=principal.subject
            )
            await uow.commit()
        return views.auto_match_json(result)

    @router.get(f"{ACCOUNT}/matches", summary="Live matches (with who made them and how)")
    async def list_matches(
        firm_id: str, bank_account_id: int, principal: Viewer
    ) -> list[dict[str, Any]]:
        async with db.unit_of_work() as uow:
            await importing.load_account(uow, firm_id, bank_account_id)
            found = await repository.load_matches(uow.session, firm_id, bank_account_id)
        return [views.match_json(m) for m in found]

    @router.post(f"{ACCOUNT}/matches", status_code=201, summary="Match lines to entries by hand")
    async def manual_match(
        firm_id: str, bank_account_id: int, body: ManualMatch, principal: Cashier
    ) -> dict[str, Any]:
        async with db.unit_of_work() as uow:
            _, saved = await matching.match_by_hand(
                uow,
                firm_id,
                bank_account_id,
                line_ids=body.line_ids,
                entry_ids=body.entry_ids,
                by=principal.subject,
            )
            await uow.commit()
        return views.match_json(saved)

    @router.delete(
        f"{ACCOUNT}/matches/{{match_id}}", status_code=204, summary="Undo a match by hand"
    )
    async def delete_match(
        firm_id: str, bank_account_id: int, match_id: str, principal: Cashier
    ) -> Response:
        try:
            parsed = uuid.UUID(match_id)
        except ValueError:
            raise NotFound(f"there is no match {match_id}") from None
        async with db.unit_of_work() as uow:
            await matching.unmatch_by_hand(
                uow, firm_id, bank_account_id, parsed, by=principal.subject
            )
            await uow.commit()
        return Response(status_code=204)

    # --- reconciliation -------------------------------------------------------------------------

    @router.get(f"{ACCOUNT}/reconciliation", summary="The reconciliation statement as of a date")
    async def get_reconciliation(
        firm_id: str, bank_account_id: int, as_of: date, principal: Viewer
    ) -> dict[str, Any]:
        async with db.unit_of_work() as uow:
            view = await reconciling.prepare(
                uow, firm_id, bank_account_id, as_of, ledger, require_three_way=False
            )
        return views.reconciliation_json(view)

    @router.post(f"{ACCOUNT}/reconciliations", status_code=201, summary="Sign a reconciliation")
    async def sign_reconciliation(
        firm_id: str, bank_account_id: int, body: AsOf, principal: Cashier
    ) -> dict[str, Any]:
        async with db.unit_of_work() as uow:
            signed = await reconciling.sign(
                uow,
                firm_id,
                bank_account_id,
                body.as_of,
                ledger,
                by=principal.subject,
                now=datetime.now(UTC),
                figures_json=views.reconciliation_json,
            )
            await uow.commit()
        return {
            "reconciliation_id": str(signed.reconciliation_id),
            "signed_by": signed.signed_by,
            "signed_at": signed.signed_at.isoformat(),
            **views.reconciliation_json(signed.view),
        }

    @router.get(f"{ACCOUNT}/reconciliations", summary="Signed reconciliations")
    async def list_reconciliations(
        firm_id: str, bank_account_id: int, principal: Viewer
    ) -> list[dict[str, Any]]:
        async with db.unit_of_work() as uow:
            await importing.load_account(uow, firm_id, bank_account_id)
            rows = await uow.session.execute(
                select(reconciliations)
                .where(
                    reconciliations.c.firm_id == firm_id,
                    reconciliations.c.bank_account_id == bank_account_id,
                )
                .order_by(reconciliations.c.as_of, reconciliations.c.signed_at)
            )
            return [
                {
                    "reconciliation_id": str(r.reconciliation_id),
                    "as_of": r.as_of.isoformat(),
                    "statement_balance": _money(r.statement_balance_minor, r.currency),
                    "outstanding_lodgements": _money(r.outstanding_lodgements_minor, r.currency),
                    "unpresented_payments": _money(r.unpresented_payments_minor, r.currency),
                    "adjusted_bank_balance": _money(r.adjusted_bank_balance_minor, r.currency),
                    "cashbook_balance": _money(r.cashbook_balance_minor, r.currency),
                    "client_ledgers_total": _money(r.client_ledgers_total_minor, r.currency),
                    "signed_by": r.signed_by,
                    "signed_at": r.signed_at.isoformat(),
                    "reopened_at": r.reopened_at.isoformat() if r.reopened_at else None,
                    "reopened_by": r.reopened_by,
                }
                for r in rows
            ]

    app.include_router(router)


def _money(amount_minor: int | None, currency: str) -> dict[str, Any] | None:
    return views.money_json(repository.optional_money(amount_minor, currency))

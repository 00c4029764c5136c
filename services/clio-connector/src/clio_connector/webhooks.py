"""Clio webhooks: subscribing, the ``X-Hook-Secret`` handshake, verifying deliveries, renewing.

* Register: one subscription per model Clio has webhooks for (matter, activity, bill, contact),
  pointing at ``{CONNECTOR_PUBLIC_URL}/webhooks/clio/{firm_id}``. Clio answers with the shared
  secret (stored encrypted) and sends a handshake; the handshake is answered by echoing the
  secret when the subscription is already known, and the subscription is activated with the
  secret afterwards in any case (the delayed handshake), so the order of the two never matters.
  Then its expiry is moved to ``CLIO_WEBHOOK_LIFETIME_DAYS`` ahead (Clio's clock).
* Receive: a delivery's ``X-Hook-Signature`` must be the HMAC-SHA256 of the exact body under one
  of the firm's secrets; otherwise 401, a log line and a ``bad_signature`` delivery row, and
  nothing is synced. A valid delivery is recorded and hints the runner, which coalesces hints
  into an incremental sync of the models that changed.
* Renew: subscriptions lapsing within ``CLIO_WEBHOOK_RENEW_WITHIN_DAYS`` are extended; one Clio
  no longer has is registered again.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from cashroom_chassis.db import Database
from clio_connector.clio.client import ClioClient
from clio_connector.clio.errors import ClioError, ClioNotFound, ClioRequestError
from clio_connector.connections import Connections
from clio_connector.crypto import TokenCipher
from clio_connector.db.tables import clio_connections, clio_webhooks, webhook_deliveries
from clio_connector.domain.fields import ClioResource
from clio_connector.domain.sync_rules import (
    WEBHOOK_RESOURCES,
    clio_timestamp,
    renewal_due,
    resource_of_model,
    signature_matches,
)
from clio_connector.settings import Settings

log = logging.getLogger(__name__)

DELIVERY_FIELDS = "id,etag,updated_at"
EVENTS = ("created", "updated", "deleted")


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Answer:
    """What the receiver answers Clio."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class Webhooks:
    def __init__(
        self,
        db: Database,
        connections: Connections,
        cipher: TokenCipher,
        settings: Settings,
        hint: Callable[[str, Iterable[ClioResource]], None],
        now: Callable[[], datetime] = _now,
    ) -> None:
        self._db = db
        self._connections = connections
        self._cipher = cipher
        self._settings = settings
        self._hint = hint
        self._now = now

    @property
    def enabled(self) -> bool:
        return bool(self._settings.connector_public_url)

    def url(self, firm_id: str) -> str:
        base = (self._settings.connector_public_url or "").rstrip("/")
        return f"{base}/webhooks/clio/{firm_id}"

    # --- Subscribing and renewing ------------------------------------------------------------

    async def register(self, firm_id: str) -> list[dict[str, Any]]:
        """Subscribe the firm to every model with webhooks (replacing older subscriptions)."""
        if not self.enabled:
            return []
        existing = {row["model"]: row for row in await self.subscriptions(firm_id)}
        async with self._connections.clio(firm_id) as clio:
            for resource in WEBHOOK_RESOURCES:
                model = resource.webhook_model
                assert model is not None
                old = existing.get(model)
                if old is not None and old["clio_webhook_id"] is not None:
                    try:
                        await clio.delete_webhook(old["clio_webhook_id"])
                    except ClioError as error:
                        log.info("firm %s: old %s webhook not deleted: %s", firm_id, model, error)
                try:
                    await self._subscribe(clio, firm_id, model)
                except ClioError as error:
                    log.warning("firm %s: %s webhook not registered: %s", firm_id, model, error)
                    await self._save(firm_id, model, status="failed", last_error=str(error))
        return await self.subscriptions(firm_id)

    async def _subscribe(self, clio: ClioClient, firm_id: str, model: str) -> None:
        before = self._now()
        record = await clio.create_webhook(
            url=self.url(firm_id), model=model, fields=DELIVERY_FIELDS, events=EVENTS
        )
        webhook_id = record.get("id")
        secret = record.get("shared_secret")
        if not isinstance(webhook_id, int) or not isinstance(secret, str) or not secret:
            raise ClioRequestError(
                201, None, "Clio's new webhook has no id or shared secret", "webhooks"
            )
        created = clio_timestamp(record.get("created_at"))
        skew = (created - before).total_seconds() if created is not None else 0.0
        await self._save(
            firm_id,
            model,
            clio_webhook_id=webhook_id,
            secret=self._cipher.encrypt(secret),
            status=str(record.get("status") or "pending"),
            expires_at=clio_timestamp(record.get("expires_at")),
            clock_skew_seconds=skew,
            created_at=self._now(),
            last_error=None,
        )
        if record.get("status") != "enabled":
            try:
                activated = await clio.activate_webhook(webhook_id, secret=secret)
                status = str(activated.get("status") or "enabled")
            except ClioRequestError:  # the immediate handshake may have enabled it already
                status = str((await clio.get_webhook(webhook_id)).get("status") or "pending")
            await self._save(firm_id, model, status=status)
        await self._extend(clio, firm_id, model, webhook_id, skew)

    async def _extend(
        self, clio: ClioClient, firm_id: str, model: str, webhook_id: int, skew: float
    ) -> None:
        clio_now = self._now() + timedelta(seconds=skew)
        wanted = clio_now + timedelta(days=self._settings.clio_webhook_lifetime_days)
        record = await clio.extend_webhook(webhook_id, expires_at=wanted)
        await self._save(
            firm_id,
            model,
            expires_at=clio_timestamp(record.get("expires_at")) or wanted,
            renewed_at=self._now(),
            status=str(record.get("status") or "enabled"),
        )

    async def renew(self, firm_id: str) -> None:
        """Extend the subscriptions lapsing soon; register again the ones Clio lost."""
        if not self.enabled:
            return
        rows = await self.subscriptions(firm_id)
        if not rows:
            return
        margin = timedelta(days=self._settings.clio_webhook_renew_within_days)
        due = [
            row
            for row in rows
            if row["status"] == "failed"
            or renewal_due(
                row["expires_at"],
                clio_now=self._now() + timedelta(seconds=row["clock_skew_seconds"]),
                margin=margin,
            )
        ]
        if not due:
            return
        async with self._connections.clio(firm_id) as clio:
            for row in due:
                model = row["model"]
                try:
                    if row["clio_webhook_id"] is None or row["status"] == "failed":
                        raise ClioNotFound(404, None, "no subscription", "webhooks")
                    await self._extend(
                        clio, firm_id, model, row["clio_webhook_id"], row["clock_skew_seconds"]
                    )
                    log.info("firm %s: %s webhook renewed", firm_id, model)
                except ClioNotFound:
                    try:
                        await self._subscribe(clio, firm_id, model)
                    except ClioError as error:
                        await self._save(firm_id, model, status="failed", last_error=str(error))
                except ClioError as error:
                    await self._save(firm_id, model, last_error=str(error))

    async def remove(self, firm_id: str) -> None:
        """Delete the firm's subscriptions in Clio (while its tokens still work)."""
        rows = await self.subscriptions(firm_id)
        if not rows:
            return
        try:
            async with self._connections.clio(firm_id) as clio:
                for row in rows:
                    if row["clio_webhook_id"] is None:
                        continue
                    try:
                        await clio.delete_webhook(row["clio_webhook_id"])
                    except ClioError as error:
                        log.info("firm %s: webhook not deleted in Clio: %s", firm_id, error)
        except Exception as error:  # unlinking goes on regardless
            log.info("firm %s: webhooks not deleted in Clio: %s", firm_id, error)
        async with self._db.transaction() as session:
            await session.execute(delete(clio_webhooks).where(clio_webhooks.c.firm_id == firm_id))

    async def active(self, firm_id: str) -> bool:
        """Every model's subscription is enabled (else everything is polled)."""
        rows = await self.subscriptions(firm_id)
        enabled = {row["model"] for row in rows if row["status"] == "enabled"}
        return all(r.webhook_model in enabled for r in WEBHOOK_RESOURCES)

    async def subscriptions(self, firm_id: str) -> list[dict[str, Any]]:
        async with self._db.transaction() as session:
            rows = (
                await session.execute(
                    select(
                        clio_webhooks.c.model,
                        clio_webhooks.c.clio_webhook_id,
                        clio_webhooks.c.status,
                        clio_webhooks.c.expires_at,
                        clio_webhooks.c.clock_skew_seconds,
                        clio_webhooks.c.created_at,
                        clio_webhooks.c.renewed_at,
                        clio_webhooks.c.last_error,
                    )
                    .where(clio_webhooks.c.firm_id == firm_id)
                    .order_by(clio_webhooks.c.model)
                )
            ).all()
        return [dict(row._mapping) for row in rows]

    async def _save(self, firm_id: str, model: str, **values: Any) -> None:
        async with self._db.transaction() as session:
            statement = insert(clio_webhooks).values(
                firm_id=firm_id,
                model=model,
                status=values.get("status", "pending"),
                created_at=values.get("created_at", self._now()),
                **{k: v for k, v in values.items() if k not in ("status", "created_at")},
            )
            await session.execute(
                statement.on_conflict_do_update(index_elements=["firm_id", "model"], set_=values)
            )

    # --- Receiving -----------------------------------------------------------------------------

    async def receive(self, firm_id: str, headers: Mapping[str, str], body: bytes) -> Answer:
        async with self._db.transaction() as session:
            linked = await session.scalar(
                select(clio_connections.c.status).where(clio_connections.c.firm_id == firm_id)
            )
        if linked is None:
            await self._record(firm_id, "unknown_firm", detail="no Clio link for this firm")
            # 410 Gone: Clio counts it delivered and disables the subscription.
            return Answer(410, {"error": "this firm is not linked to Clio"}, {})
        secret = headers.get("x-hook-secret")
        if secret is not None:
            return await self._handshake(firm_id, secret, body)
        return await self._delivery(firm_id, headers.get("x-hook-signature"), body)

    async def _secrets(self, firm_id: str) -> list[tuple[str, int | None, str]]:
        async with self._db.transaction() as session:
            rows = (
                await session.execute(
                    select(
                        clio_webhooks.c.model,
                        clio_webhooks.c.clio_webhook_id,
                        clio_webhooks.c.secret,
                    ).where(clio_webhooks.c.firm_id == firm_id, clio_webhooks.c.secret.is_not(None))
                )
            ).all()
        return [(row.model, row.clio_webhook_id, self._cipher.decrypt(row.secret)) for row in rows]

    async def _handshake(self, firm_id: str, secret: str, body: bytes) -> Answer:
        data = _json_object(body).get("data")
        webhook_id = data.get("id") if isinstance(data, Mapping) else None
        for model, known_id, known_secret in await self._secrets(firm_id):
            if known_id == webhook_id:
                if not hmac.compare_digest(known_secret, secret):
                    log.warning(
                        "firm %s: handshake for webhook %s with the wrong secret", firm_id, known_id
                    )
                    await self._record(
                        firm_id, "bad_handshake", model=model, clio_webhook_id=known_id
                    )
                    return Answer(401, {"error": "the secret does not match"}, {})
                await self._save(firm_id, model, status="enabled")
                await self._record(firm_id, "handshake", model=model, clio_webhook_id=known_id)
                return Answer(200, {"handshake": "accepted"}, {"X-Hook-Secret": secret})
        # Not known yet (the handshake overtook Clio's answer to the subscription): the
        # subscription is activated with its secret once that answer is stored.
        await self._record(
            firm_id,
            "handshake_deferred",
            clio_webhook_id=webhook_id if isinstance(webhook_id, int) else None,
        )
        return Answer(200, {"handshake": "deferred"}, {})

    async def _delivery(self, firm_id: str, signature: str | None, body: bytes) -> Answer:
        matched = next(
            (
                (model, webhook_id)
                for model, webhook_id, secret in await self._secrets(firm_id)
                if signature_matches(secret, body, signature)
            ),
            None,
        )
        if matched is None:
            log.warning(
                "firm %s: webhook delivery refused: %s X-Hook-Signature (%d bytes); nothing synced",
                firm_id,
                "no" if not signature else "invalid",
                len(body),
            )
            await self._record(
                firm_id,
                "bad_signature",
                detail="missing signature" if not signature else "signature does not match",
            )
            return Answer(401, {"error": "invalid X-Hook-Signature"}, {})
        model, webhook_id = matched
        payload = _json_object(body)
        meta = payload.get("meta")
        data = payload.get("data")
        event = meta.get("event") if isinstance(meta, Mapping) else None
        record_id = data.get("id") if isinstance(data, Mapping) else None
        verdict = "accepted" if payload else "accepted_unreadable"
        await self._record(
            firm_id,
            "accepted",
            model=model,
            event=event if isinstance(event, str) else None,
            record_id=record_id if isinstance(record_id, int) else None,
            clio_webhook_id=webhook_id,
            detail=None if verdict == "accepted" else "the body is not a JSON object",
        )
        resource = resource_of_model(model)
        if resource is not None:
            self._hint(firm_id, [resource])
        return Answer(200, {"received": True}, {})

    async def _record(self, firm_id: str, verdict: str, **values: Any) -> None:
        async with self._db.transaction() as session:
            await session.execute(
                webhook_deliveries.insert().values(
                    firm_id=firm_id, received_at=self._now(), verdict=verdict, **values
                )
            )

    async def deliveries(self, firm_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
        async with self._db.transaction() as session:
            rows = (
                await session.execute(
                    select(webhook_deliveries)
                    .where(webhook_deliveries.c.firm_id == firm_id)
                    .order_by(webhook_deliveries.c.id.desc())
                    .limit(limit)
                )
            ).all()
        return [dict(row._mapping) for row in rows]


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}

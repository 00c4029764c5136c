"""Webhook subscriptions and deliveries, as Clio does them (to loopback addresses only).

* Create → status ``pending`` and a handshake POST carrying ``X-Hook-Secret``; echoing the header
  in a 200 response enables the hook at once, otherwise ``PUT /webhooks/{id}/activate`` with the
  header enables it later.
* Deliveries: ``{"data": {<fields>}, "meta": {"event": ..., "webhook_id": ...}}`` signed with
  ``X-Hook-Signature`` = hex HMAC-SHA256 of the exact body bytes, keyed by the shared secret.
* ``updated`` fires only when one of the hook's fields changed, except the first update of each
  record after the hook was enabled, which always fires.
* 2xx / 3xx = delivered; 410 = delivered and the hook is suspended; anything else (or a timeout)
  is retried after each of ``settings.webhook_retry_delays``; repeated failures suspend the hook.
* Hooks past ``expires_at`` deliver nothing.
* Safety: the sandbox refuses to send anything to a host that is not loopback
  (127.0.0.0/8, ::1, ``localhost``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from . import jsonfmt
from .fields import FieldsError, parse_fields, render
from .store import Record

if TYPE_CHECKING:
    from .state import SandboxState

__all__ = ["WebhookManager", "is_loopback_url", "sign"]

MODELS = {
    "matter": "matters",
    "activity": "activities",
    "bill": "bills",
    "contact": "contacts",
    "calendar_entry": None,
    "communication": None,
    "task": None,
    "document": None,
    "folder": None,
    "clio_payments_payment": None,
}
RESOURCE_TO_MODEL = {res: model for model, res in MODELS.items() if res}
SCHEMA_MODEL = {"matter": "Matter", "activity": "Activity", "bill": "Bill", "contact": "Contact"}
STATUS_EVENTS = {"Open": "matter_opened", "Pending": "matter_pended", "Closed": "matter_closed"}


def sign(secret: str, body: bytes) -> str:
    """The ``X-Hook-Signature`` value: lowercase hex HMAC-SHA256 of ``body``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def is_loopback_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Delivery:
    webhook_id: int
    event: str
    record_id: int | None
    body: bytes
    signature: str
    attempts: list[dict[str, Any]] = field(default_factory=list)
    delivered: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "webhook_id": self.webhook_id,
            "event": self.event,
            "record_id": self.record_id,
            "signature": self.signature,
            "body": self.body.decode(),
            "attempts": self.attempts,
            "delivered": self.delivered,
        }


class WebhookManager:
    def __init__(self, state: SandboxState, transport: httpx.AsyncBaseTransport | None) -> None:
        self.state = state
        self.transport = transport
        self.deliveries: list[Delivery] = []
        self.handshakes: list[dict[str, Any]] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.seen: dict[int, set[int]] = {}  # webhook id -> record ids already sent an update
        self.failures: dict[int, int] = {}

    # ------------------------------------------------------------------ plumbing
    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self.transport, timeout=self.state.settings.webhook_timeout
        )

    def _spawn(self, coro: Any) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            coro.close()
            return
        task = loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def drain(self, seconds: float = 10.0) -> None:
        """Wait for pending deliveries (tests)."""
        end = asyncio.get_running_loop().time() + seconds
        while self.tasks and asyncio.get_running_loop().time() < end:
            await asyncio.wait(
                set(self.tasks), timeout=max(0.0, end - asyncio.get_running_loop().time())
            )

    def _hooks(self) -> list[Record]:
        return list(self.state.firm.store.iter("webhooks"))

    # ------------------------------------------------------------------ handshake
    def new_secret(self) -> str:
        return secrets.token_hex(32)

    def start_handshake(self, hook: Record) -> None:
        self._spawn(self._handshake(hook["id"]))

    async def _handshake(self, webhook_id: int) -> None:
        store = self.state.firm.store
        hook = store.get("webhooks", webhook_id)
        if hook is None or not is_loopback_url(hook["url"]):
            return
        body = jsonfmt.dumps_bytes(
            {"data": {"id": hook["id"], "model": hook["model"], "url": hook["url"]}}
        )
        record: dict[str, Any] = {"webhook_id": webhook_id, "url": hook["url"]}
        try:
            async with self.client() as client:
                resp = await client.post(
                    hook["url"],
                    content=body,
                    headers={
                        "X-Hook-Secret": hook["shared_secret"],
                        "Content-Type": "application/json",
                    },
                )
            record["status"] = resp.status_code
            echoed = resp.headers.get("X-Hook-Secret")
            if resp.status_code == 200 and echoed == hook["shared_secret"]:
                self.activate(webhook_id)
                record["activated"] = True
        except httpx.HTTPError as exc:
            record["error"] = type(exc).__name__
        self.handshakes.append(record)

    def activate(self, webhook_id: int) -> Record | None:
        store = self.state.firm.store
        hook = store.get("webhooks", webhook_id)
        if hook is None:
            return None
        if hook["status"] != "enabled":
            hook["status"] = "enabled"
            self.seen[webhook_id] = set()
            self.failures[webhook_id] = 0
            self.state.books.save("webhooks", hook)
        return hook

    # ------------------------------------------------------------------ events
    def on_change(self, resource: str, event: str, old: Record | None, new: Record | None) -> None:
        model = RESOURCE_TO_MODEL.get(resource)
        if model is None:
            return
        hooks = [h for h in self._hooks() if h["model"] == model and h["status"] == "enabled"]
        if not hooks:
            return
        now = self.state.now()
        from .timeutil import parse_ts

        for hook in hooks:
            if hook.get("expires_at") and parse_ts(hook["expires_at"]).timestamp() <= now:
                continue
            events = set(hook.get("events") or ["created", "updated", "deleted"])
            record = new if new is not None else old
            if record is None:
                continue
            fired: list[str] = []
            if event == "updated":
                if "updated" in events and self._update_matters(hook, old, new):
                    fired.append("updated")
                if model == "matter" and old and new and old.get("status") != new.get("status"):
                    status_event = STATUS_EVENTS.get(new.get("status", ""))
                    if status_event and status_event in events:
                        fired.append(status_event)
            elif event in events:
                fired.append(event)
            for ev in fired:
                self.fire(hook, ev, record)

    def _update_matters(self, hook: Record, old: Record | None, new: Record | None) -> bool:
        if old is None or new is None:
            return True
        seen = self.seen.setdefault(hook["id"], set())
        if new["id"] not in seen:
            seen.add(new["id"])
            return True
        model = SCHEMA_MODEL[hook["model"]]
        try:
            specs = parse_fields(hook.get("fields"), model)
        except FieldsError:
            return True
        store = self.state.firm.store
        version = self.state.settings.default_api_version
        return render(old, model, specs, store.get, version) != render(
            new, model, specs, store.get, version
        )

    def fire(self, hook: Record, event: str, record: Record) -> Delivery | None:
        """Send one event to one hook (also used by the control API)."""
        if not is_loopback_url(hook["url"]):
            return None
        model = SCHEMA_MODEL.get(hook["model"])
        store = self.state.firm.store
        if event == "deleted" or model is None:
            data: dict[str, Any] = {"id": record.get("id"), "etag": record.get("etag")}
        else:
            try:
                specs = parse_fields(hook.get("fields"), model)
            except FieldsError:
                specs = parse_fields(None, model)
            data = render(record, model, specs, store.get, self.state.settings.default_api_version)
        body = jsonfmt.dumps_bytes(
            {"data": data, "meta": {"event": event, "webhook_id": hook["id"]}}
        )
        delivery = Delivery(
            webhook_id=hook["id"],
            event=event,
            record_id=record.get("id"),
            body=body,
            signature=sign(hook["shared_secret"], body),
        )
        self.deliveries.append(delivery)
        if len(self.deliveries) > 2000:
            del self.deliveries[:1000]
        self._spawn(self._deliver(hook["id"], hook["url"], delivery))
        return delivery

    async def _deliver(self, webhook_id: int, url: str, delivery: Delivery) -> None:
        delays = [0.0, *self.state.settings.webhook_retry_delays]
        for attempt, delay in enumerate(delays):
            if delay:
                await asyncio.sleep(delay)
            hook = self.state.firm.store.get("webhooks", webhook_id)
            if hook is None or hook["status"] != "enabled":
                return
            info: dict[str, Any] = {"attempt": attempt + 1}
            try:
                async with self.client() as client:
                    resp = await client.post(
                        url,
                        content=delivery.body,
                        headers={
                            "Content-Type": "application/json",
                            "X-Hook-Signature": delivery.signature,
                        },
                    )
                info["status"] = resp.status_code
                delivery.attempts.append(info)
                if resp.status_code == 410:
                    delivery.delivered = True
                    hook["status"] = "suspended"
                    self.state.books.save("webhooks", hook)
                    return
                if 200 <= resp.status_code < 400:
                    delivery.delivered = True
                    self.failures[webhook_id] = 0
                    return
            except httpx.HTTPError as exc:
                info["error"] = type(exc).__name__
                delivery.attempts.append(info)
        self.failures[webhook_id] = self.failures.get(webhook_id, 0) + 1
        if self.failures[webhook_id] >= self.state.settings.webhook_suspend_after:
            hook = self.state.firm.store.get("webhooks", webhook_id)
            if hook is not None:
                hook["status"] = "suspended"
                self.state.books.save("webhooks", hook)

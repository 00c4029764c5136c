"""Syncs as background tasks of the service process, so the API (and everything else) keeps
answering while one runs.

* ``start_sync``: one per firm at a time (the database refuses a second ``running`` run, from
  any process); a failed or interrupted run of the same sync is resumed rather than restarted.
* ``hint``: a webhook delivery says a model changed. Hints are coalesced into one incremental
  sync of those resources: it starts once no hint came for ``CLIO_WEBHOOK_DEBOUNCE_SECONDS``, at
  the latest ``CLIO_WEBHOOK_MAX_WAIT_SECONDS`` after the first (hints arriving while a sync runs
  make the next one).
* The poller reads, every ``CLIO_POLL_SECONDS``, the resources Clio sends no webhooks for (all of
  them for a firm without webhooks), renews webhooks that are due, and finds runs whose process
  died (stale heartbeat) and resumes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from clio_connector.connections import Connections
from clio_connector.domain.fields import SYNC_ORDER, ClioResource
from clio_connector.domain.sync_rules import (
    POLLED_RESOURCES,
    in_sync_order,
    resource_named,
    webhook_sync_wait,
)
from clio_connector.engine import SyncEngine
from clio_connector.runs import Run, Runs, RunStatus, SyncAlreadyRunning, SyncKind, SyncTrigger
from clio_connector.settings import Settings

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class SyncRunner:
    def __init__(
        self,
        engine: SyncEngine,
        runs: Runs,
        connections: Connections,
        settings: Settings,
        now: Callable[[], datetime] = _now,
    ) -> None:
        self._engine = engine
        self._runs = runs
        self._connections = connections
        self._settings = settings
        self._now = now
        self._tasks: dict[str, asyncio.Task[RunStatus]] = {}
        self._hints: dict[str, set[str]] = {}
        self._last_hint: dict[str, float] = {}  # the loop's clock when the latest hint came
        self._debouncers: dict[str, asyncio.Task[None]] = {}
        self._background: list[asyncio.Task[None]] = []
        # Set by the composition root: renews a firm's webhooks; says whether they are active.
        self.renew_webhooks: Callable[[str], Awaitable[None]] | None = None
        self.webhooks_active: Callable[[str], Awaitable[bool]] | None = None

    # --- Starting syncs ------------------------------------------------------------------------

    async def start_sync(
        self,
        firm_id: str,
        *,
        kind: SyncKind,
        trigger: SyncTrigger,
        resources: Sequence[ClioResource] = SYNC_ORDER,
        requested_by: str | None = None,
    ) -> tuple[Run, bool]:
        """Start (or resume) a sync in the background. Raises ``SyncAlreadyRunning``."""
        stale = timedelta(seconds=self._settings.clio_sync_stale_seconds)
        if firm_id not in self._tasks:
            await self._runs.interrupt_stale(firm_id, now=self._now(), stale=stale)
        run, resumed = await self._runs.start(
            firm_id,
            kind=kind,
            trigger=trigger,
            resources=[r.path for r in in_sync_order(resources)],
            requested_by=requested_by,
            now=self._now(),
        )
        self._spawn(run)
        return run, resumed

    def _spawn(self, run: Run) -> None:
        task = asyncio.create_task(self._engine.run(run), name=f"sync-{run.firm_id}-{run.id}")
        self._tasks[run.firm_id] = task

        def finished(done: asyncio.Task[RunStatus]) -> None:
            if self._tasks.get(run.firm_id) is done:
                del self._tasks[run.firm_id]

        task.add_done_callback(finished)

    def running_here(self, firm_id: str) -> asyncio.Task[RunStatus] | None:
        return self._tasks.get(firm_id)

    async def cancel(self, firm_id: str) -> bool:
        """Stop the firm's sync running in this process (it becomes ``interrupted``)."""
        task = self._tasks.get(firm_id)
        if task is None:
            return False
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return True

    # --- Webhook hints, coalesced ------------------------------------------------------------

    def hint(self, firm_id: str, resources: Iterable[ClioResource]) -> None:
        self._hints.setdefault(firm_id, set()).update(r.path for r in resources)
        self._last_hint[firm_id] = asyncio.get_running_loop().time()
        if firm_id not in self._debouncers:
            self._debouncers[firm_id] = asyncio.create_task(
                self._debounced(firm_id), name=f"webhook-sync-{firm_id}"
            )

    async def _debounced(self, firm_id: str) -> None:
        loop = asyncio.get_running_loop()
        first = loop.time()
        try:
            while True:
                wait = webhook_sync_wait(
                    first_hint=first,
                    last_hint=self._last_hint.get(firm_id, first),
                    now=loop.time(),
                    quiet=self._settings.clio_webhook_debounce_seconds,
                    max_wait=self._settings.clio_webhook_max_wait_seconds,
                )
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            while True:
                running = self._tasks.get(firm_id)
                if running is not None:
                    await asyncio.wait([running])
                    continue
                paths = self._hints.pop(firm_id, set())
                if not paths:
                    return
                connection = await self._connections.get(firm_id)
                if connection is None or connection.initial_sync_completed_at is None:
                    return  # the first sync, still to come, reads everything anyway
                resources = in_sync_order(resource_named(path) for path in paths)
                try:
                    await self.start_sync(
                        firm_id,
                        kind=SyncKind.INCREMENTAL,
                        trigger=SyncTrigger.WEBHOOK,
                        resources=resources,
                    )
                    # Stay until it ends: a hint that came while it was being started (or
                    # while it runs) makes the next sync, instead of waiting for another hint.
                    continue
                except SyncAlreadyRunning:  # another process runs one: try again after it
                    self._hints.setdefault(firm_id, set()).update(paths)
                    await asyncio.sleep(max(self._settings.clio_webhook_debounce_seconds, 1.0))
        except Exception:
            log.exception("firm %s: webhook-triggered sync not started", firm_id)
        finally:
            self._debouncers.pop(firm_id, None)

    # --- Polling, renewing, resuming ---------------------------------------------------------

    async def poll_once(self) -> None:
        """One round for every linked firm: recover dead runs, renew webhooks, poll."""
        await self.recover()
        for firm_id in await self._connections.linked_firms():
            try:
                await self._poll_firm(firm_id)
            except Exception:
                log.exception("firm %s: poll failed", firm_id)

    async def _poll_firm(self, firm_id: str) -> None:
        connection = await self._connections.get(firm_id)
        if connection is None or connection.initial_sync_completed_at is None:
            return  # the first (full) sync is the cashier's to start
        if self.renew_webhooks is not None:
            await self.renew_webhooks(firm_id)
        if firm_id in self._tasks:
            return
        active = self.webhooks_active is not None and await self.webhooks_active(firm_id)
        resources = POLLED_RESOURCES if active else SYNC_ORDER
        with contextlib.suppress(SyncAlreadyRunning):
            await self.start_sync(
                firm_id, kind=SyncKind.INCREMENTAL, trigger=SyncTrigger.POLL, resources=resources
            )

    async def recover(self) -> None:
        """Runs whose process died become interrupted; interrupted runs carry on."""
        stale = timedelta(seconds=self._settings.clio_sync_stale_seconds)
        await self._runs.interrupt_stale(None, now=self._now(), stale=stale)
        if not self._settings.clio_resume_interrupted:
            return
        for run in await self._runs.resumable():
            if run.firm_id in self._tasks:
                continue
            with contextlib.suppress(SyncAlreadyRunning):
                resumed, _ = await self.start_sync(
                    run.firm_id,
                    kind=run.kind,
                    trigger=run.trigger,
                    resources=[resource_named(path) for path in run.resources],
                    requested_by=run.requested_by,
                )
                log.info("firm %s: resuming interrupted sync %s", run.firm_id, resumed.id)

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.clio_poll_seconds)
            try:
                await self.poll_once()
            except Exception:
                log.exception("poll round failed")

    async def _recover_at_start(self) -> None:
        try:
            await self.recover()
        except Exception:
            log.exception("could not resume interrupted syncs")

    # --- Lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._background.append(asyncio.create_task(self._recover_at_start()))
        if self._settings.clio_poll_seconds > 0:
            self._background.append(asyncio.create_task(self._poll_forever(), name="clio-poller"))

    async def stop(self) -> None:
        tasks = [*self._background, *self._debouncers.values(), *self._tasks.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._background.clear()

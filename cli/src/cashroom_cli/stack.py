"""Start the whole of Cashroom on this machine: embedded PostgreSQL and broker, then each service
as its own process, each waited for until it is ready. Stopped in reverse order, whatever
happens (Ctrl-C included)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from cashroom_chassis.embedded import EmbeddedKafka, EmbeddedPostgres, free_port
from cashroom_chassis.kafka import ensure_topics


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str


SERVICES = (
    ServiceSpec("clio-connector", "clio_connector"),
    ServiceSpec("ledger", "cashroom_ledger"),
    ServiceSpec("reconciliation", "cashroom_reconciliation"),
    ServiceSpec("reporting", "cashroom_reporting"),
)


@dataclass
class RunningService:
    spec: ServiceSpec
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass
class Stack:
    database_url: str
    kafka_bootstrap_servers: str
    auth_signing_key: str
    services: dict[str, RunningService] = field(default_factory=dict)
    log_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cashroom-logs-")))

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "AUTH_SIGNING_KEY": self.auth_signing_key,
            **extra,
        }

    def start_service(
        self, spec: ServiceSpec, *, extra_env: dict[str, str] | None = None
    ) -> RunningService:
        port = free_port()
        log_path = self.log_dir / f"{spec.name}.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", spec.module],
                env=self.env(HTTP_PORT=str(port), **(extra_env or {})),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        running = RunningService(spec, f"http://127.0.0.1:{port}", process, log_path)
        self.services[spec.name] = running
        return running

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        pending = dict(self.services)
        while pending:
            for name, service in list(pending.items()):
                if service.process.poll() is not None:
                    tail = service.log_path.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{name} exited with {service.process.returncode}:\n{tail}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{service.url}/ready", timeout=2).status_code == 200:
                        del pending[name]
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout}s: {', '.join(pending)}")
            time.sleep(0.2)

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        for service in self.services.values():
            try:
                service.process.wait(20)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait(5)


@contextlib.contextmanager
def running_stack(*, partitions: int | None = None, durable: bool = False) -> Iterator[Stack]:
    """Embedded infrastructure (or DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS if set) and every
    service, ready to use."""
    with contextlib.ExitStack() as stack:
        database_url = os.environ.get("DATABASE_URL")
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not database_url:
            database_url = stack.enter_context(EmbeddedPostgres(durable=durable)).url
        if not bootstrap:
            bootstrap = stack.enter_context(EmbeddedKafka()).bootstrap_servers
        partitions = partitions or int(os.environ.get("KAFKA_TOPIC_PARTITIONS", "3"))
        asyncio.run(ensure_topics(bootstrap, partitions=partitions))
        running = Stack(
            database_url=database_url,
            kafka_bootstrap_servers=bootstrap,
            auth_signing_key=os.environ.get("AUTH_SIGNING_KEY") or secrets.token_urlsafe(32),
        )
        stack.callback(running.stop)
        for spec in SERVICES:
            running.start_service(spec)
        running.wait_ready()
        yield running

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

from cashroom_chassis.embedded import EmbeddedKafka, EmbeddedPostgres, die_with_parent, free_port
from cashroom_chassis.kafka import ensure_topics


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # as the CLI's target knows it: connector, ledger, reconciliation, reporting
    module: str


SERVICES = (
    ServiceSpec("connector", "clio_connector"),
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
    ports: dict[str, int] = field(default_factory=dict)
    sandbox: subprocess.Popen[bytes] | None = None
    _log_dir: Path | None = None

    @property
    def log_dir(self) -> Path:
        """Where the processes' logs go: made when the first one starts (a stack used only to
        choose ports leaves no folder behind), kept after the stack stops, to be read."""
        if self._log_dir is None:
            self._log_dir = Path(tempfile.mkdtemp(prefix="cashroom-logs-"))
        return self._log_dir

    def url_of(self, name: str) -> str:
        """The URL a service will listen on (its port is chosen before any service starts, so
        that each can be told where the others are)."""
        port = self.ports.setdefault(name, free_port())
        return f"http://127.0.0.1:{port}"

    def service_urls(self) -> dict[str, str]:
        return {f"{spec.name.upper()}_URL": self.url_of(spec.name) for spec in SERVICES}

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
        port = int(self.url_of(spec.name).rsplit(":", 1)[1])
        log_path = self.log_dir / f"{spec.name}.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", spec.module],
                env=self.env(HTTP_PORT=str(port), **self.service_urls(), **(extra_env or {})),
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent(),  # never outlives a killed parent
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
                    raise RuntimeError(
                        f"{name} exited with {service.process.returncode}: "
                        f"{_last_line(service.log_path)} (its log: {service.log_path})"
                    )
                if self._answers_as_itself(service):
                    del pending[name]
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout}s: {', '.join(pending)}")
            time.sleep(0.2)

    @staticmethod
    def _answers_as_itself(service: RunningService) -> bool:
        """Ready, and the process answering is the one started: a port chosen free can be taken
        by another program before the service binds it (the service then exits, and the other
        program's answer must not pass for its own)."""
        with contextlib.suppress(httpx.HTTPError, ValueError):
            health = httpx.get(f"{service.url}/health", timeout=2).json()
            if health.get("pid") != service.process.pid:
                return False
            return httpx.get(f"{service.url}/ready", timeout=2).status_code == 200
        return False

    def start_sandbox(self, args: list[str], *, timeout: float = 120) -> str:
        """The Clio API v4 sandbox as its own process; returns its base URL once it answers."""
        port = int(self.url_of("sandbox").rsplit(":", 1)[1])
        log_path = self.log_dir / "clio-sandbox.log"
        with open(log_path, "ab") as log:
            self.sandbox = subprocess.Popen(
                [sys.executable, "-m", "clio_sandbox", "--port", str(port), *args],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent(),  # never outlives a killed parent
            )
        url = self.url_of("sandbox")
        deadline = time.monotonic() + timeout
        while True:
            if self.sandbox.poll() is not None:
                raise RuntimeError(
                    f"the Clio sandbox exited: {_last_line(log_path)} (its log: {log_path})"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/_control/health", timeout=2).status_code == 200:
                    return url
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Clio sandbox did not start in {timeout}s")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.sandbox is not None and self.sandbox.poll() is None:
            self.sandbox.send_signal(signal.SIGTERM)
        for service in reversed(list(self.services.values())):
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        for service in self.services.values():
            try:
                service.process.wait(20)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait(5)
        if self.sandbox is not None:
            try:
                self.sandbox.wait(10)
            except subprocess.TimeoutExpired:
                self.sandbox.kill()


def _last_line(log: Path) -> str:
    """The last thing a process that died wrote (its error, usually)."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(nothing in its log)"


@contextlib.contextmanager
def running_stack(
    *,
    partitions: int | None = None,
    durable: bool = False,
    sandbox_args: list[str] | None = None,
    service_env: dict[str, dict[str, str]] | None = None,
    ports: dict[str, int] | None = None,
) -> Iterator[Stack]:
    """Embedded infrastructure (or DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS if set), the Clio
    sandbox when ``sandbox_args`` is given, and every service, ready to use."""
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
            ports=dict(ports or {}),
        )
        stack.callback(running.stop)
        if sandbox_args is not None:
            running.start_sandbox(sandbox_args)
        for spec in SERVICES:
            running.start_service(spec, extra_env=(service_env or {}).get(spec.name))
        running.wait_ready()
        yield running

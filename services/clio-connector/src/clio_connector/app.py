"""Composition root of the connector service: settings, runtime (database, outbox relay,
consumers) and HTTP routes, wired in one place."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from cashroom_chassis.runtime import Runtime, create_app
from clio_connector.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = Runtime(settings, migrations_dir=MIGRATIONS)
    return create_app(runtime, title="Cashroom connector")

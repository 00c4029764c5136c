"""Fixtures of the reporting tests: a migrated schema (and topics) of its own per test."""

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cashroom_chassis.db import Database
from cashroom_chassis.migrations import upgrade
from cashroom_chassis.testing import Infrastructure

# The scenario and helpers the reporting tests share live beside them.
sys.path.insert(0, str(Path(__file__).parent))

from reporting_fixtures import make_settings

from cashroom_reporting.app import MIGRATIONS
from cashroom_reporting.settings import Settings


@pytest.fixture
async def settings(infrastructure: Infrastructure, unique_name: str) -> Settings:
    s = make_settings(infrastructure, unique_name)
    await upgrade(s, MIGRATIONS)
    return s


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings)
    yield database
    await database.dispose()

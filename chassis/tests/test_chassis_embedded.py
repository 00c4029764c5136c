"""The embedded PostgreSQL and broker start on free loopback ports and leave nothing running,
even when the process that started them is killed (its scratch folders then stay behind, as any
killed program's do, and the test removes them)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap

import psutil
import pytest
from sqlalchemy import text

from cashroom_chassis.db import Database
from cashroom_chassis.settings import ServiceSettings
from cashroom_chassis.testing import Infrastructure, _docker_available, wait_until_gone

STARTER = textwrap.dedent(
    """
    import sys, time
    from cashroom_chassis.embedded import EmbeddedKafka, EmbeddedPostgres
    pg = EmbeddedPostgres().start()
    kafka = EmbeddedKafka().start()
    print(pg._process.pid, kafka._process.pid, pg._owned_dir, kafka._log_dir, flush=True)
    time.sleep(600)
    """
)


def test_servers_die_with_a_killed_parent() -> None:
    parent = subprocess.Popen([sys.executable, "-c", STARTER], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    postgres, broker, *scratch = parent.stdout.readline().split()
    postgres_pid, broker_pid = int(postgres), int(broker)
    assert psutil.pid_exists(postgres_pid) and psutil.pid_exists(broker_pid)
    try:
        os.kill(parent.pid, signal.SIGKILL)  # as a crashed test run would die
        parent.wait()

        assert wait_until_gone(postgres_pid), "PostgreSQL outlived the process that started it"
        assert wait_until_gone(broker_pid), "the broker outlived the process that started it"
    finally:
        for folder in scratch:
            shutil.rmtree(folder, ignore_errors=True)


async def test_migrations_keep_their_version_table_in_the_service_schema(
    infrastructure: Infrastructure, unique_name: str
) -> None:
    from sample_service import migrate

    settings = ServiceSettings(
        service_name=f"sample_{unique_name}", database_url=infrastructure.database_url
    )
    await migrate(settings)
    await migrate(settings)  # a second run is a no-op
    db = Database(settings)
    try:
        async with db.transaction() as session:
            tables = set(
                (
                    await session.execute(
                        text(
                            "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"
                        ),
                        {"s": settings.db_schema},
                    )
                ).scalars()
            )
            version = await session.scalar(
                text(f'SELECT version_num FROM "{settings.db_schema}".alembic_version')
            )
    finally:
        await db.dispose()
    assert {"outbox", "inbox", "effects", "alembic_version"} <= tables
    assert version == "0001"


def test_container_runs_are_skipped_with_a_reason_where_no_docker_engine_answers() -> None:
    reason = _docker_available()
    if reason is None:
        pytest.skip("a Docker engine answers here: the container suite runs for real")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            "chassis/tests/test_chassis_auth.py::test_health_needs_no_token",
        ],
        env={**os.environ, "CASHROOM_INFRA": "containers"},
        capture_output=True,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert "no Docker engine here" in result.stdout


async def test_extra_server_settings_reach_the_server_and_a_malformed_one_is_refused() -> None:
    from cashroom_chassis.embedded import EmbeddedPostgres

    with pytest.raises(ValueError, match="expected name=value, got 'work_mem'"):
        EmbeddedPostgres(settings="work_mem").start()
    with EmbeddedPostgres(
        settings="work_mem=12MB shared_preload_libraries=pg_stat_statements"
    ) as pg:
        db = Database(ServiceSettings(service_name="embedded_settings", database_url=pg.url))
        try:
            async with db.transaction() as session:
                assert await session.scalar(text("SHOW work_mem")) == "12MB"
                preloaded = await session.scalar(text("SHOW shared_preload_libraries"))
                assert preloaded == "pg_stat_statements"
        finally:
            await db.dispose()

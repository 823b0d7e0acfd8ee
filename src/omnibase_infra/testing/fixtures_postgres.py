"""pytest fixtures for a real PostgreSQL: one server per session, a fresh database per test.

Register with ``pytest_plugins = ["omnibase_infra.testing.fixtures_postgres"]`` (done in this
repository's ``tests/conftest.py``). Fixtures:

``postgres_server``
    session-scoped ``EmbeddedPostgres`` on a free port (fsync off). Tests may ``await
    postgres_server.restart()`` (or stop and start it); the next test finds it running again.
``postgres_base_dir``
    an empty directory for a test's own ``EmbeddedPostgres`` (stop it before the test ends).

Clusters live in directories of their own under the system temp dir, not under pytest's
``tmp_path``: as root the server runs as the ``postgres`` user, and every pytest session that
starts resets ``/tmp/pytest-of-<user>`` to mode 0700, locking that user out mid-run.
``postgres_database``
    the name of a database created empty for this test and dropped after it.
``postgres_dsn``
    a DSN for that database (it holds the password: never print it).
``postgres_settings``
    ``ModelPostgresSettings`` for that database.
``postgres_handler``
    a started ``HandlerPostgres`` on that database, closed after the test.
``postgres_migrated_handler``
    the same, with this package's migrations applied.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from uuid import uuid4

import pytest
import pytest_asyncio

from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.handlers.postgres.model_postgres_settings import ModelPostgresSettings
from omnibase_infra.migrations.runner import apply_migrations

__all__ = [
    "postgres_base_dir",
    "postgres_database",
    "postgres_dsn",
    "postgres_handler",
    "postgres_migrated_handler",
    "postgres_server",
    "postgres_settings",
]

# Room for tests that open many pools or a thousand concurrent clients.
_TEST_SERVER_SETTINGS = {"max_connections": "300"}


def _cluster_dir() -> Path:
    """A new directory for a cluster, outside pytest's basetemp (see the module docstring)."""
    return Path(tempfile.mkdtemp(prefix="onex-pg-test-"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[EmbeddedPostgres]:
    """A real PostgreSQL for the whole session, stopped by PID at the end."""
    base_dir = _cluster_dir()
    server = EmbeddedPostgres(base_dir, fast=True, server_settings=_TEST_SERVER_SETTINGS)
    try:
        server.start_sync()
        yield server
    finally:
        server.stop_sync()
        shutil.rmtree(base_dir, ignore_errors=True)


@pytest.fixture
def postgres_base_dir() -> Iterator[Path]:
    """An empty directory for a test's own cluster, removed after the test."""
    base_dir = _cluster_dir()
    try:
        yield base_dir
    finally:
        shutil.rmtree(base_dir, ignore_errors=True)


@pytest_asyncio.fixture
async def postgres_database(postgres_server: EmbeddedPostgres) -> AsyncIterator[str]:
    """A database created empty for one test and dropped (sessions terminated) after it."""
    # A previous test may have stopped the server to test recovery: bring it back.
    await postgres_server.start()
    name = f"test_{uuid4().hex[:20]}"
    await postgres_server.create_database(name)
    try:
        yield name
    finally:
        await postgres_server.start()
        await postgres_server.drop_database(name)


@pytest.fixture
def postgres_dsn(postgres_server: EmbeddedPostgres, postgres_database: str) -> str:
    """A DSN of this test's database (contains the password)."""
    return postgres_server.dsn(postgres_database)


@pytest.fixture
def postgres_settings(
    postgres_server: EmbeddedPostgres, postgres_database: str
) -> ModelPostgresSettings:
    """Handler settings of this test's database."""
    return postgres_server.settings(postgres_database)


@pytest_asyncio.fixture
async def postgres_handler(
    postgres_settings: ModelPostgresSettings,
) -> AsyncIterator[HandlerPostgres]:
    """A started handler on this test's database."""
    handler = HandlerPostgres(postgres_settings)
    await handler.start()
    try:
        yield handler
    finally:
        await handler.close()


@pytest_asyncio.fixture
async def postgres_migrated_handler(
    postgres_handler: HandlerPostgres,
) -> HandlerPostgres:
    """A started handler on this test's database, with the package's migrations applied."""
    await apply_migrations(postgres_handler)
    return postgres_handler

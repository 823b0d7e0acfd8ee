"""Applies versioned SQL migrations in order, once each, recorded in ``onex_schema_migrations``.

Files are named ``NNNN_<name>.sql`` (four digits, unique across the package, lowercase name) and
ship in this package (``omnibase_infra/migrations/``); each area numbers its files in a range
of its own (0100 registrations, 0200 DLQ replays...). ``apply_migrations`` takes an advisory
lock (so two processes starting at once apply each file once), creates the table if needed,
refuses to run when an applied file's checksum changed or when the database has a migration
this code lacks, then applies each pending file in version order, each in its own transaction,
recording version, name, checksum, applied_at and duration. A new file numbered below one
already applied (another area's range moved on first) is applied too, with a warning.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib.resources import files
from importlib.resources.abc import Traversable

import asyncpg

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import InfraTimeoutError, ModelInfraErrorContext, RuntimeHostError
from omnibase_infra.handlers.postgres.connection import PostgresConnection
from omnibase_infra.handlers.postgres.errors import translate_postgres_error
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.migrations.errors import MigrationChecksumError, MigrationError
from omnibase_infra.migrations.model_migration import ModelMigration
from omnibase_infra.observability.logging import get_logger

__all__ = [
    "MIGRATIONS_TABLE",
    "apply_migrations",
    "load_migrations",
    "package_migrations",
]

_log = get_logger(__name__)

MIGRATIONS_TABLE = "onex_schema_migrations"
# Every runner takes this session advisory lock ("onexmigr" as a 64-bit integer).
_LOCK_KEY = 0x6F6E65786D696772
_LOCK_POLL_SECONDS = 0.05
_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9][a-z0-9_]*)\.sql$")
_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS onex_schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    execution_ms integer NOT NULL
)
"""
_RECORD = (
    "INSERT INTO onex_schema_migrations (version, name, checksum, execution_ms) "
    "VALUES ($1, $2, $3, $4)"
)


def package_migrations() -> Traversable:
    """The directory of SQL files shipped in this package."""
    return files("omnibase_infra.migrations")


def load_migrations(*sources: Traversable) -> list[ModelMigration]:
    """Read the ``.sql`` files of ``sources`` (default: the package's), sorted by version."""
    found: dict[int, ModelMigration] = {}
    for source in sources or (package_migrations(),):
        for entry in source.iterdir():
            if not entry.name.endswith(".sql"):
                continue
            match = _FILE_NAME.match(entry.name)
            if match is None or int(match["version"]) == 0:
                raise MigrationError(
                    f"{entry.name}: migration files are named NNNN_<name>.sql "
                    "(NNNN from 0001, name in lowercase letters, digits and _)"
                )
            # Line endings must not change a checksum (a checkout may convert them).
            sql = entry.read_text(encoding="utf-8").replace("\r\n", "\n")
            migration = ModelMigration(
                version=int(match["version"]),
                name=match["name"],
                checksum=hashlib.sha256(sql.encode("utf-8")).hexdigest(),
                sql=sql,
            )
            clash = found.get(migration.version)
            if clash is not None:
                raise MigrationError(
                    f"{entry.name} and {clash.filename} have the same version number"
                )
            found[migration.version] = migration
    return sorted(found.values(), key=lambda m: m.version)


async def apply_migrations(
    target: HandlerPostgres | asyncpg.Pool[asyncpg.Record],
    *,
    migrations: Sequence[ModelMigration] | None = None,
    lock_timeout_seconds: float = 60.0,
) -> list[ModelMigration]:
    """Apply the pending migrations in order; returns those applied now (empty: up to date).

    ``migrations`` defaults to the package's files. Raises ``MigrationChecksumError`` or
    ``MigrationError`` (nothing applied) for the two refusals above, ``MigrationError`` naming the
    file when a statement fails (that file rolled back, earlier ones kept), and
    ``InfraTimeoutError`` when another runner holds the lock for ``lock_timeout_seconds``.
    """
    wanted = (
        list(migrations) if migrations is not None else await asyncio.to_thread(load_migrations)
    )
    async with _connection(target) as conn:
        await _lock(conn, lock_timeout_seconds)
        try:
            await conn.execute(_CREATE_TABLE)
            rows = await conn.fetch(
                "SELECT version, name, checksum FROM onex_schema_migrations ORDER BY version"
            )
            pending = _pending(wanted, [(r["version"], r["name"], r["checksum"]) for r in rows])
            for migration in pending:
                await _apply(conn, migration)
        finally:
            await _unlock(conn)
    if pending:
        _log.info("migrations applied", versions=[m.version for m in pending])
    return pending


def _pending(
    wanted: Sequence[ModelMigration], applied: Sequence[tuple[int, str, str]]
) -> list[ModelMigration]:
    """The migrations still to apply, after checking the applied ones against the files."""
    by_version = {m.version: m for m in wanted}
    for version, name, checksum in applied:
        migration = by_version.get(version)
        if migration is None:
            raise MigrationError(
                f"the database has migration {version:04d}_{name}, which this code does not "
                "have (was it applied by a newer version?)"
            )
        if migration.checksum != checksum:
            raise MigrationChecksumError(
                f"{migration.filename} changed after it was applied (recorded sha256 "
                f"{checksum[:12]}..., file {migration.checksum[:12]}...): never edit an applied "
                "migration, add a new one"
            )
    applied_versions = {version for version, _, _ in applied}
    newest = max(applied_versions, default=0)
    pending = [m for m in wanted if m.version not in applied_versions]
    for migration in pending:
        if migration.version < newest:
            _log.warning(
                "applying a migration numbered below one already applied",
                migration=migration.filename,
                newest_applied=newest,
            )
    return pending


async def _apply(conn: PostgresConnection, migration: ModelMigration) -> None:
    """One migration and its record, in one transaction."""
    began = time.perf_counter()
    try:
        async with conn.transaction():
            await conn.execute(migration.sql)
            elapsed_ms = round((time.perf_counter() - began) * 1000)
            await conn.execute(
                _RECORD, migration.version, migration.name, migration.checksum, elapsed_ms
            )
    except RuntimeHostError as e:
        if e.retriable:
            raise  # lost connection, timeout, conflict: the caller may simply run it again
        raise MigrationError(
            f"{migration.filename} failed and was rolled back: {e.message}",
            context=e.infra_context,
        ) from e
    _log.info("migration applied", version=migration.version, name=migration.name)


async def _lock(conn: PostgresConnection, wait_seconds: float) -> None:
    """Take the runners' session advisory lock, waiting at most ``wait_seconds``."""
    deadline = time.monotonic() + wait_seconds
    while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _LOCK_KEY):
        if time.monotonic() >= deadline:
            raise InfraTimeoutError(
                f"another process held the migration lock for {wait_seconds:g}s",
                context=ModelInfraErrorContext(
                    transport_type=EnumInfraTransportType.DATABASE,
                    operation="migrations.lock",
                    target_name=conn.target_name,
                ),
            )
        await asyncio.sleep(_LOCK_POLL_SECONDS)


async def _unlock(conn: PostgresConnection) -> None:
    """Release the lock (a lost session has released it already)."""
    try:
        await conn.fetchval("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    except RuntimeHostError as e:
        _log.warning("migration lock release failed", error=e.message)


@asynccontextmanager
async def _connection(
    target: HandlerPostgres | asyncpg.Pool[asyncpg.Record],
) -> AsyncIterator[PostgresConnection]:
    """One connection of the handler's pool, or of a bare asyncpg pool, errors translated."""
    if isinstance(target, HandlerPostgres):
        async with target.connection() as conn:
            yield conn
        return
    try:
        raw = await target.acquire()
    except Exception as e:
        raise translate_postgres_error(e, operation="acquire", target_name="postgres") from e
    try:
        yield PostgresConnection(raw, target_name="postgres")
    finally:
        await target.release(raw)

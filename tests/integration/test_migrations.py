"""The migration runner against a real PostgreSQL: order, idempotence, drift, concurrency."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import textwrap
from pathlib import Path

import asyncpg
import pytest

from omnibase_infra.errors import InfraTimeoutError
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.handlers.postgres.model_postgres_settings import ModelPostgresSettings
from omnibase_infra.migrations import (
    MigrationChecksumError,
    MigrationError,
    apply_migrations,
    load_migrations,
)

pytestmark = pytest.mark.integration

_LOCK_KEY = 0x6F6E65786D696772


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


async def _versions(handler: HandlerPostgres) -> list[int]:
    rows = await handler.fetch("SELECT version FROM onex_schema_migrations ORDER BY version")
    return [row["version"] for row in rows]


async def test_applies_in_version_order_and_records_each(
    postgres_handler: HandlerPostgres, tmp_path: Path
) -> None:
    """Files apply by version (not name order on disk), each recorded with name and checksum."""
    source = _write(
        tmp_path / "m",
        {
            "0010_fill.sql": "INSERT INTO thing VALUES (1);",
            "0002_create.sql": "CREATE TABLE thing (id int PRIMARY KEY);",
        },
    )
    applied = await apply_migrations(postgres_handler, migrations=load_migrations(source))
    assert [m.version for m in applied] == [2, 10]
    assert await postgres_handler.fetchval("SELECT count(*) FROM thing") == 1
    rows = await postgres_handler.fetch(
        "SELECT version, name, checksum, applied_at, execution_ms"
        " FROM onex_schema_migrations ORDER BY version"
    )
    assert [(r["version"], r["name"]) for r in rows] == [(2, "create"), (10, "fill")]
    assert [r["checksum"] for r in rows] == [m.checksum for m in applied]
    assert all(r["applied_at"] is not None and r["execution_ms"] >= 0 for r in rows)


async def test_second_run_applies_nothing(
    postgres_handler: HandlerPostgres, tmp_path: Path
) -> None:
    """Running again is a no-op: nothing re-executed, nothing recorded twice."""
    source = _write(tmp_path / "m", {"0001_create.sql": "CREATE TABLE once (id int);"})
    assert len(await apply_migrations(postgres_handler, migrations=load_migrations(source))) == 1
    assert await apply_migrations(postgres_handler, migrations=load_migrations(source)) == []
    assert await _versions(postgres_handler) == [1]


async def test_new_file_is_applied_on_next_run(
    postgres_handler: HandlerPostgres, tmp_path: Path
) -> None:
    """A file added later is applied alone, after the ones already recorded."""
    source = _write(tmp_path / "m", {"0001_create.sql": "CREATE TABLE grow (id int);"})
    await apply_migrations(postgres_handler, migrations=load_migrations(source))
    _write(source, {"0002_more.sql": "ALTER TABLE grow ADD COLUMN name text;"})
    applied = await apply_migrations(postgres_handler, migrations=load_migrations(source))
    assert [m.version for m in applied] == [2]
    assert await _versions(postgres_handler) == [1, 2]


async def test_late_lower_numbered_file_is_applied(
    postgres_handler: HandlerPostgres, tmp_path: Path
) -> None:
    """A new file numbered below an applied one (another area's range) is still applied."""
    source = _write(tmp_path / "m", {"0200_b.sql": "CREATE TABLE b (id int);"})
    await apply_migrations(postgres_handler, migrations=load_migrations(source))
    _write(source, {"0101_a.sql": "CREATE TABLE a (id int);"})
    applied = await apply_migrations(postgres_handler, migrations=load_migrations(source))
    assert [m.version for m in applied] == [101]
    assert await _versions(postgres_handler) == [101, 200]


async def test_edited_applied_file_is_refused(
    postgres_handler: HandlerPostgres, tmp_path: Path
) -> None:
    """Changing an applied file raises MigrationChecksumError and applies nothing further."""
    source = _write(tmp_path / "m", {"0001_create.sql": "CREATE TABLE drift (id int);"})
    await apply_migrations(postgres_handler, migrations=load_migrations(source))
    _write(
        source,
        {
            "0001_create.sql": "CREATE TABLE drift (id bigint);",
            "0002_next.sql": "CREATE TABLE after_drift (id int);",
        },
    )
    with pytest.raises(MigrationChecksumError, match=re.escape("0001_create.sql")):
        await apply_migrations(postgres_handler, migrations=load_migrations(source))
    assert await _versions(postgres_handler) == [1]
    assert await postgres_handler.fetchval("SELECT to_regclass('after_drift')") is None


async def test_unknown_applied_migration_is_refused(
    postgres_handler: HandlerPostgres, tmp_path: Path
) -> None:
    """A database holding a migration this code lacks (newer code ran) is refused."""
    source = _write(tmp_path / "m", {"0001_a.sql": "SELECT 1;", "0002_b.sql": "SELECT 2;"})
    await apply_migrations(postgres_handler, migrations=load_migrations(source))
    (source / "0002_b.sql").unlink()
    with pytest.raises(MigrationError, match="0002_b"):
        await apply_migrations(postgres_handler, migrations=load_migrations(source))


async def test_failing_file_rolls_back_alone(
    postgres_handler: HandlerPostgres, tmp_path: Path
) -> None:
    """A failing file is rolled back whole and named; earlier files stay; a fix then applies."""
    source = _write(
        tmp_path / "m",
        {
            "0001_ok.sql": "CREATE TABLE kept (id int);",
            "0002_bad.sql": "CREATE TABLE half (id int);\nINSERT INTO nowhere VALUES (1);",
        },
    )
    with pytest.raises(MigrationError, match=re.escape("0002_bad.sql")) as caught:
        await apply_migrations(postgres_handler, migrations=load_migrations(source))
    assert not caught.value.retriable
    assert await _versions(postgres_handler) == [1]
    assert await postgres_handler.fetchval("SELECT to_regclass('half')") is None
    _write(source, {"0002_bad.sql": "CREATE TABLE half (id int);"})
    applied = await apply_migrations(postgres_handler, migrations=load_migrations(source))
    assert [m.version for m in applied] == [2]


async def test_concurrent_runners_apply_each_file_once(
    postgres_handler: HandlerPostgres, postgres_settings: ModelPostgresSettings, tmp_path: Path
) -> None:
    """Five runners with their own pools racing at start apply every file exactly once."""
    source = _write(
        tmp_path / "m",
        {
            # Not IF NOT EXISTS: a second application would fail.
            "0001_slow.sql": "SELECT pg_sleep(0.2); CREATE TABLE raced (id int);",
            "0002_fill.sql": "INSERT INTO raced VALUES (1);",
        },
    )
    migrations = load_migrations(source)
    handlers = [HandlerPostgres(postgres_settings) for _ in range(5)]
    await asyncio.gather(*(h.start() for h in handlers))
    try:
        results = await asyncio.gather(
            *(apply_migrations(h, migrations=migrations) for h in handlers)
        )
    finally:
        await asyncio.gather(*(h.close() for h in handlers))
    assert sorted(len(r) for r in results) == [0, 0, 0, 0, 2]
    assert await _versions(postgres_handler) == [1, 2]
    assert await postgres_handler.fetchval("SELECT count(*) FROM raced") == 1


async def test_two_processes_starting_at_once_apply_each_file_once(
    postgres_handler: HandlerPostgres, postgres_dsn: str, tmp_path: Path
) -> None:
    """Two OS processes running the runner at the same moment apply every file once."""
    source = _write(
        tmp_path / "m",
        {
            "0001_slow.sql": "SELECT pg_sleep(0.3); CREATE TABLE by_process (id int);",
            "0002_fill.sql": "INSERT INTO by_process VALUES (1);",
        },
    )
    script = textwrap.dedent(
        """
        import asyncio, os, sys
        from pathlib import Path
        from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
        from omnibase_infra.handlers.postgres.model_postgres_settings import ModelPostgresSettings
        from omnibase_infra.migrations import apply_migrations, load_migrations

        async def main() -> None:
            handler = HandlerPostgres(ModelPostgresSettings.from_dsn(os.environ["TEST_PG_DSN"]))
            await handler.start()
            try:
                applied = await apply_migrations(
                    handler, migrations=load_migrations(Path(sys.argv[1]))
                )
            finally:
                await handler.close()
            print(len(applied))

        asyncio.run(main())
        """
    )
    # The DSN holds the password: pass it in the environment, not on a visible command line.
    env = {**os.environ, "TEST_PG_DSN": postgres_dsn}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            script,
            str(source),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    outputs = [await p.communicate() for p in processes]
    assert [p.returncode for p in processes] == [0, 0]
    assert sorted(int(out.strip().splitlines()[-1]) for out, _ in outputs) == [0, 2]
    assert await _versions(postgres_handler) == [1, 2]
    assert await postgres_handler.fetchval("SELECT count(*) FROM by_process") == 1


async def test_lock_held_too_long_is_a_timeout(
    postgres_handler: HandlerPostgres, postgres_dsn: str, tmp_path: Path
) -> None:
    """A runner that cannot get the lock in time raises InfraTimeoutError, applying nothing."""
    source = _write(tmp_path / "m", {"0001_a.sql": "CREATE TABLE locked_out (id int);"})
    holder = await asyncpg.connect(postgres_dsn)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        with pytest.raises(InfraTimeoutError):
            await apply_migrations(
                postgres_handler, migrations=load_migrations(source), lock_timeout_seconds=0.3
            )
    finally:
        await holder.close()
    assert await postgres_handler.fetchval("SELECT to_regclass('locked_out')") is None


async def test_bare_asyncpg_pool_is_accepted(postgres_dsn: str, tmp_path: Path) -> None:
    """apply_migrations also runs on a plain asyncpg pool."""
    source = _write(tmp_path / "m", {"0001_a.sql": "CREATE TABLE from_pool (id int);"})
    pool = await asyncpg.create_pool(postgres_dsn, min_size=1, max_size=2)
    try:
        applied = await apply_migrations(pool, migrations=load_migrations(source))
        assert [m.version for m in applied] == [1]
        assert await pool.fetchval("SELECT to_regclass('from_pool')::text") == "from_pool"
    finally:
        await pool.close()


async def test_package_migrations_apply_and_are_idempotent(
    postgres_handler: HandlerPostgres,
) -> None:
    """The SQL files shipped in the package apply cleanly on an empty database, once."""
    shipped = load_migrations()
    applied = await apply_migrations(postgres_handler)
    assert [m.version for m in applied] == [m.version for m in shipped]
    assert await apply_migrations(postgres_handler) == []
    assert await _versions(postgres_handler) == [m.version for m in shipped]

"""The embedded PostgreSQL launcher against the real server it starts."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import psutil
import pytest
import pytest_asyncio

from omnibase_infra.errors import InfraUnavailableError, ProtocolConfigurationError
from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
from omnibase_infra.handlers.postgres.embedded_lock import DataDirInUseError
from omnibase_infra.handlers.postgres.embedded_process import system_user

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def own_server(postgres_base_dir: Path) -> AsyncIterator[EmbeddedPostgres]:
    """A server of its own (durable settings), for tests that stop, kill or restart it."""
    server = EmbeddedPostgres(postgres_base_dir / "pg")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _execute(server: EmbeddedPostgres, sql: str) -> None:
    connection = await asyncpg.connect(server.dsn())
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _query(server: EmbeddedPostgres, sql: str, *args: object) -> object:
    connection = await asyncpg.connect(server.dsn())
    try:
        return await connection.fetchval(sql, *args)
    finally:
        await connection.close()


async def test_session_server_listens_on_loopback_only(postgres_server: EmbeddedPostgres) -> None:
    """The server accepts TCP on 127.0.0.1 and is configured to listen nowhere else."""
    assert await _query(postgres_server, "SELECT host(inet_server_addr())") == "127.0.0.1"
    assert await _query(postgres_server, "SHOW listen_addresses") == "127.0.0.1"


async def test_tcp_login_requires_the_password(postgres_server: EmbeddedPostgres) -> None:
    """A TCP login with a wrong password is refused (scram-sha-256, not trust)."""
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(
            host=postgres_server.host,
            port=postgres_server.port,
            user=postgres_server.user,
            password="not-the-password",
            database="postgres",
            ssl=False,
        )


def test_password_file_is_private(postgres_server: EmbeddedPostgres) -> None:
    """The generated superuser password is readable by its owner only."""
    mode = stat.S_IMODE(postgres_server.password_path.stat().st_mode)
    assert mode == 0o600
    assert len(postgres_server.password.get_secret_value()) >= 24


async def test_fast_settings_only_when_asked(
    postgres_server: EmbeddedPostgres, own_server: EmbeddedPostgres
) -> None:
    """``fast=True`` turns fsync off; the default keeps PostgreSQL durable."""
    assert await _query(postgres_server, "SHOW fsync") == "off"
    assert await _query(own_server, "SHOW fsync") == "on"


async def test_restart_keeps_port_and_data(own_server: EmbeddedPostgres) -> None:
    """A restart reuses the data directory and the port, with a new postmaster."""
    await _execute(own_server, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
    port, pid = own_server.port, own_server.pid
    await own_server.restart()
    assert own_server.port == port
    assert own_server.pid != pid
    assert await _query(own_server, "SELECT v FROM kept") == 42


async def test_stop_ends_the_postmaster(own_server: EmbeddedPostgres) -> None:
    """Stop ends the server's process (by its PID) and the port stops answering."""
    pid = own_server.pid
    assert pid is not None
    await own_server.stop()
    assert not own_server.is_running
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    with pytest.raises(ConnectionRefusedError):
        await asyncpg.connect(own_server.dsn(), timeout=2)


async def test_start_after_kill_9_recovers(own_server: EmbeddedPostgres) -> None:
    """After the postmaster is SIGKILLed, start succeeds on the same data (stale pid file)."""
    await _execute(own_server, "CREATE TABLE survived (v int); INSERT INTO survived VALUES (7)")
    pid = own_server.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    await asyncio.to_thread(psutil.Process(pid).wait, 10)
    assert (own_server.data_dir / "postmaster.pid").exists()
    await own_server.start()
    assert await _query(own_server, "SELECT v FROM survived") == 7


async def test_second_launcher_on_an_owned_directory_fails_and_leaves_the_owner_running(
    postgres_base_dir: Path,
) -> None:
    """A second launcher on a data directory whose owner is alive fails at once, naming the
    directory, the owner's PID and the fix, and the owner's server keeps answering."""
    first = EmbeddedPostgres(postgres_base_dir / "pg", fast=True)
    second = EmbeddedPostgres(postgres_base_dir / "pg", fast=True)
    await first.start()
    pid = first.pid
    try:
        with pytest.raises(DataDirInUseError) as caught:
            await second.start()
        assert str(postgres_base_dir / "pg") in str(caught.value)
        assert f"PID {os.getpid()}" in str(caught.value)
        assert "postgres.data_dir" in str(caught.value)
        assert not second.is_running
        assert first.pid == pid
        assert await _query(first, "SELECT 1") == 1
    finally:
        await second.stop()
        await first.stop()


_OWNER_SCRIPT = """
import sys, time
from pathlib import Path
from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
server = EmbeddedPostgres(Path(sys.argv[1]), fast=True)
server.start_sync()
print(server.pid, flush=True)
time.sleep(300)
"""


async def test_orphan_of_a_killed_owner_is_taken_over(postgres_base_dir: Path) -> None:
    """After its owner is killed with SIGKILL, the server it left running is an orphan: the
    next launcher stops it by PID and starts on the same data."""
    base_dir = postgres_base_dir / "pg"
    owner = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _OWNER_SCRIPT, str(base_dir), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert owner.stdout is not None
        async with asyncio.timeout(60):
            orphan_pid = int(await owner.stdout.readline())
    finally:
        owner.kill()
        await owner.wait()
    orphan = psutil.Process(orphan_pid)
    server = EmbeddedPostgres(base_dir, fast=True)
    try:
        assert orphan.is_running()  # the owner is gone, its server is not
        await server.start()
        assert server.pid != orphan_pid
        await asyncio.to_thread(orphan.wait, 10)
        assert await _query(server, "SELECT 1") == 1
    finally:
        await server.stop()
        if orphan.is_running():  # the take-over failed: never leave the orphan behind
            orphan.kill()


async def test_pid_file_naming_an_unrelated_live_process_is_ignored(
    own_server: EmbeddedPostgres,
) -> None:
    """A postmaster.pid whose PID now belongs to another live process does not block start."""
    await own_server.stop()
    run_as = system_user()
    # Same user as the server, so PostgreSQL itself would see the PID alive and refuse.
    sleeper = await asyncio.create_subprocess_exec(
        "sleep",
        "60",
        user=run_as[0] if run_as else None,
        group=run_as[1] if run_as else None,
    )
    try:
        pid_file = own_server.data_dir / "postmaster.pid"
        pid_file.write_text(f"{sleeper.pid}\n{own_server.data_dir}\n0\n{own_server.port}\n\n\n\n")
        await own_server.start()
        assert await _query(own_server, "SELECT 1") == 1
        assert sleeper.returncode is None
    finally:
        sleeper.kill()
        await sleeper.wait()


async def test_port_held_by_another_process_fails_clearly(postgres_base_dir: Path) -> None:
    """A fixed port someone else holds makes start fail with the server's own reason."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        server = EmbeddedPostgres(postgres_base_dir / "pg", port=holder.getsockname()[1], fast=True)
        with pytest.raises(InfraUnavailableError, match=r"could not bind|could not create"):
            await server.start()
        assert not server.is_running


async def test_bad_setting_value_fails_with_log_excerpt(postgres_base_dir: Path) -> None:
    """An invalid server setting fails start with PostgreSQL's message, not a hang."""
    server = EmbeddedPostgres(
        postgres_base_dir / "pg", fast=True, server_settings={"work_mem": "lots"}
    )
    with pytest.raises(InfraUnavailableError, match="work_mem"):
        await server.start()
    assert not server.is_running


def test_setting_names_are_validated(postgres_base_dir: Path) -> None:
    """A setting name that is not an identifier is refused before anything runs."""
    with pytest.raises(ProtocolConfigurationError):
        EmbeddedPostgres(postgres_base_dir, server_settings={"fsync=off -c x": "1"})


async def test_database_names_are_validated(postgres_server: EmbeddedPostgres) -> None:
    """Only strict identifiers reach CREATE DATABASE (it takes no parameters)."""
    with pytest.raises(ProtocolConfigurationError):
        await postgres_server.create_database('x"; DROP DATABASE postgres; --')
    with pytest.raises(ProtocolConfigurationError):
        await postgres_server.drop_database("postgres")


async def test_create_and_drop_database(postgres_server: EmbeddedPostgres) -> None:
    """create_database makes a database (idempotent with exist_ok) and drop removes it."""
    await postgres_server.create_database("made_here")
    await postgres_server.create_database("made_here", exist_ok=True)
    assert (
        await _query(
            postgres_server, "SELECT count(*) FROM pg_database WHERE datname = $1", "made_here"
        )
        == 1
    )
    await postgres_server.drop_database("made_here")
    assert (
        await _query(
            postgres_server, "SELECT count(*) FROM pg_database WHERE datname = $1", "made_here"
        )
        == 0
    )


async def test_fresh_database_per_test(postgres_dsn: str, postgres_database: str) -> None:
    """The function-scoped fixture hands out an empty database of its own."""
    connection = await asyncpg.connect(postgres_dsn)
    try:
        assert await connection.fetchval("SELECT current_database()") == postgres_database
        tables = await connection.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        assert tables == 0
    finally:
        await connection.close()


def test_sync_api_starts_and_stops(postgres_base_dir: Path) -> None:
    """start_sync and stop_sync work from synchronous code (session fixtures)."""
    server = EmbeddedPostgres(postgres_base_dir / "pg", fast=True)
    server.start_sync()
    try:
        assert server.is_running
        assert asyncio.run(_query(server, "SELECT 1")) == 1
    finally:
        server.stop_sync()
    assert not server.is_running

"""HandlerPostgres against a real PostgreSQL: operations, recovery, error translation, secrecy."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from uuid import uuid4

import asyncpg
import psutil
import pytest
from structlog.testing import capture_logs

from omnibase_infra._core import EnumCoreErrorCode
from omnibase_infra.correlation import correlation_scope
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraConnectionError,
    InfraTimeoutError,
    InfraUnavailableError,
    RuntimeHostError,
)
from omnibase_infra.handlers import ProtocolInfraHandler
from omnibase_infra.handlers.postgres.embedded import EmbeddedPostgres
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.handlers.postgres.model_postgres_settings import ModelPostgresSettings

pytestmark = pytest.mark.integration


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def _started(settings: ModelPostgresSettings) -> HandlerPostgres:
    handler = HandlerPostgres(settings)
    await handler.start()
    return handler


def test_handler_satisfies_the_protocol(postgres_settings: ModelPostgresSettings) -> None:
    """The handler is a ProtocolInfraHandler named ``postgres`` on the DATABASE transport."""
    handler = HandlerPostgres(postgres_settings)
    assert isinstance(handler, ProtocolInfraHandler)
    assert handler.handler_name == "postgres"
    assert handler.transport_type is EnumInfraTransportType.DATABASE


async def test_execute_and_fetch_round_trip(postgres_handler: HandlerPostgres) -> None:
    """Statements with $n parameters write rows that fetch, fetchrow and fetchval read back."""
    await postgres_handler.execute("CREATE TABLE item (id int PRIMARY KEY, name text)")
    tag = await postgres_handler.execute("INSERT INTO item VALUES ($1, $2)", 1, "one")
    await postgres_handler.executemany("INSERT INTO item VALUES ($1, $2)", [(2, "two"), (3, "x")])
    assert tag == "INSERT 0 1"
    rows = await postgres_handler.fetch("SELECT id, name FROM item ORDER BY id")
    assert [(r["id"], r["name"]) for r in rows] == [(1, "one"), (2, "two"), (3, "x")]
    row = await postgres_handler.fetchrow("SELECT name FROM item WHERE id = $1", 2)
    assert row is not None
    assert row["name"] == "two"
    assert await postgres_handler.fetchrow("SELECT name FROM item WHERE id = $1", 9) is None
    assert await postgres_handler.fetchval("SELECT count(*) FROM item WHERE id > $1", 1) == 2


async def test_parameters_are_never_interpolated(postgres_handler: HandlerPostgres) -> None:
    """A value that looks like SQL is stored verbatim and executes nothing."""
    await postgres_handler.execute("CREATE TABLE note (body text)")
    hostile = "x'); DROP TABLE note; --"
    await postgres_handler.execute("INSERT INTO note VALUES ($1)", hostile)
    assert await postgres_handler.fetchval("SELECT body FROM note") == hostile


async def test_transaction_commits_on_success(postgres_handler: HandlerPostgres) -> None:
    """Work inside ``transaction()`` is visible after the block ends normally."""
    await postgres_handler.execute("CREATE TABLE ledger (v int)")
    async with postgres_handler.transaction() as tx:
        await tx.execute("INSERT INTO ledger VALUES (1)")
        await tx.execute("INSERT INTO ledger VALUES (2)")
    assert await postgres_handler.fetchval("SELECT sum(v) FROM ledger") == 3


async def test_transaction_rolls_back_and_keeps_the_callers_exception(
    postgres_handler: HandlerPostgres,
) -> None:
    """An exception in the block rolls everything back and reaches the caller unchanged."""
    await postgres_handler.execute("CREATE TABLE ledger (v int)")

    class BoomError(Exception):
        pass

    async def failing_work() -> None:
        async with postgres_handler.transaction() as tx:
            await tx.execute("INSERT INTO ledger VALUES (1)")
            raise BoomError

    with pytest.raises(BoomError):
        await failing_work()
    assert await postgres_handler.fetchval("SELECT count(*) FROM ledger") == 0


async def test_connection_refused_is_a_retriable_connection_error(
    postgres_settings: ModelPostgresSettings,
) -> None:
    """Starting against a port nobody listens on raises a retriable InfraConnectionError."""
    settings = postgres_settings.model_copy(update={"port": _closed_port()})
    with pytest.raises(InfraConnectionError) as caught:
        await _started(settings)
    error = caught.value
    assert error.retriable
    assert error.error_code == EnumCoreErrorCode.DATABASE_CONNECTION_ERROR
    assert error.infra_context.transport_type is EnumInfraTransportType.DATABASE
    assert error.infra_context.operation == "start"
    assert isinstance(error.__cause__, OSError)


async def test_pool_recovers_after_server_restart(
    postgres_server: EmbeddedPostgres, postgres_handler: HandlerPostgres
) -> None:
    """After PostgreSQL restarts, the same handler answers again without being restarted."""
    before = await postgres_handler.fetchval("SELECT pg_backend_pid()")
    await postgres_server.restart()
    assert await postgres_handler.fetchval("SELECT 1") == 1
    assert await postgres_handler.fetchval("SELECT pg_backend_pid()") != before


async def test_pool_recovers_after_server_is_killed(
    postgres_server: EmbeddedPostgres, postgres_handler: HandlerPostgres
) -> None:
    """A SIGKILLed server fails calls with InfraConnectionError; once back, calls succeed."""
    assert await postgres_handler.fetchval("SELECT 1") == 1
    pid = postgres_server.pid
    assert pid is not None
    postmaster = psutil.Process(pid)
    backends = postmaster.children(recursive=True)
    os.kill(pid, signal.SIGKILL)
    await asyncio.to_thread(postmaster.wait, 10)
    # Backends notice their postmaster's death a moment later; until then one may still answer.
    await asyncio.to_thread(psutil.wait_procs, backends, 10)
    with pytest.raises(InfraConnectionError) as caught:
        await postgres_handler.fetchval("SELECT 1")
    assert caught.value.retriable
    await postgres_server.start()
    assert await postgres_handler.fetchval("SELECT 2") == 2


async def test_server_side_statement_timeout_is_a_timeout(
    postgres_settings: ModelPostgresSettings,
) -> None:
    """A statement cut by ``statement_timeout`` (57014) raises a retriable InfraTimeoutError."""
    handler = await _started(
        postgres_settings.model_copy(update={"statement_timeout_seconds": 0.1})
    )
    try:
        with pytest.raises(InfraTimeoutError) as caught:
            await handler.execute("SELECT pg_sleep(5)")
        assert caught.value.retriable
        assert caught.value.model.context["sqlstate"] == "57014"
        assert await handler.fetchval("SELECT 1") == 1  # the connection stays usable
    finally:
        await handler.close()


async def test_client_side_command_timeout_is_a_timeout(
    postgres_settings: ModelPostgresSettings,
) -> None:
    """A call exceeding ``command_timeout_seconds`` raises InfraTimeoutError."""
    handler = await _started(postgres_settings.model_copy(update={"command_timeout_seconds": 0.1}))
    try:
        with pytest.raises(InfraTimeoutError):
            await handler.fetchval("SELECT pg_sleep(5)")
    finally:
        await handler.close()


async def test_wrong_password_is_an_authentication_error(
    postgres_settings: ModelPostgresSettings,
) -> None:
    """A rejected password raises a non-retriable InfraAuthenticationError."""
    settings = postgres_settings.model_copy(update={"password": _secret(f"wrong-{uuid4().hex}")})
    with pytest.raises(InfraAuthenticationError) as caught:
        await _started(settings)
    assert not caught.value.retriable
    assert caught.value.http_status == 401


async def test_role_without_login_is_an_authentication_error(
    postgres_handler: HandlerPostgres, postgres_settings: ModelPostgresSettings
) -> None:
    """A role that may not log in (28000) raises InfraAuthenticationError."""
    role = f"nologin_{uuid4().hex[:8]}"
    password = uuid4().hex
    await postgres_handler.execute(f"CREATE ROLE {role} NOLOGIN PASSWORD '{password}'")
    try:
        settings = postgres_settings.model_copy(
            update={"user": role, "password": _secret(password)}
        )
        with pytest.raises(InfraAuthenticationError):
            await _started(settings)
    finally:
        await postgres_handler.execute(f"DROP ROLE {role}")


async def test_serialization_failure_is_retriable(
    postgres_handler: HandlerPostgres, postgres_settings: ModelPostgresSettings
) -> None:
    """A serializable write that lost a race (40001) raises a retriable RuntimeHostError."""
    await postgres_handler.execute("CREATE TABLE counter (id int PRIMARY KEY, v int)")
    await postgres_handler.execute("INSERT INTO counter VALUES (1, 0)")
    other = await _started(postgres_settings)

    async def lose_the_race() -> None:
        async with postgres_handler.transaction(isolation="serializable") as tx:
            await tx.fetchval("SELECT v FROM counter WHERE id = 1")
            await other.execute("UPDATE counter SET v = v + 1 WHERE id = 1")
            await tx.execute("UPDATE counter SET v = v + 10 WHERE id = 1")

    try:
        with pytest.raises(RuntimeHostError) as caught:
            await lose_the_race()
    finally:
        await other.close()
    assert caught.value.retriable
    assert caught.value.model.context["sqlstate"] == "40001"
    assert await postgres_handler.fetchval("SELECT v FROM counter WHERE id = 1") == 1


async def test_deadlock_is_retriable(
    postgres_handler: HandlerPostgres, postgres_settings: ModelPostgresSettings
) -> None:
    """Two transactions locking rows in opposite order: the victim (40P01) is retriable."""
    await postgres_handler.execute("CREATE TABLE pair (id int PRIMARY KEY)")
    await postgres_handler.execute("INSERT INTO pair VALUES (1), (2)")
    other = await _started(postgres_settings)
    both_locked = asyncio.Barrier(2)

    async def lock(handler: HandlerPostgres, first: int, second: int) -> None:
        async with handler.transaction() as tx:
            await tx.execute("SET LOCAL deadlock_timeout = '50ms'")
            await tx.execute("SELECT id FROM pair WHERE id = $1 FOR UPDATE", first)
            await both_locked.wait()
            await tx.execute("SELECT id FROM pair WHERE id = $1 FOR UPDATE", second)

    try:
        results = await asyncio.gather(
            lock(postgres_handler, 1, 2), lock(other, 2, 1), return_exceptions=True
        )
    finally:
        await other.close()
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1
    assert isinstance(errors[0], RuntimeHostError)
    assert errors[0].retriable
    assert errors[0].model.context["sqlstate"] == "40P01"


async def test_constraint_violation_is_not_retriable_and_hides_row_values(
    postgres_handler: HandlerPostgres,
) -> None:
    """A unique violation raises a non-retriable error naming the constraint, not the value."""
    await postgres_handler.execute(
        "CREATE TABLE account (email text CONSTRAINT account_email UNIQUE)"
    )
    value = f"value-{uuid4().hex}"
    await postgres_handler.execute("INSERT INTO account VALUES ($1)", value)
    with pytest.raises(RuntimeHostError) as caught:
        await postgres_handler.execute("INSERT INTO account VALUES ($1)", value)
    error = caught.value
    assert not error.retriable
    assert error.error_code == EnumCoreErrorCode.DATABASE_QUERY_ERROR
    assert error.model.context["sqlstate"] == "23505"
    assert error.model.context["constraint"] == "account_email"
    assert value not in str(error)
    assert value not in error.model_dump_json()
    assert isinstance(error.__cause__, asyncpg.UniqueViolationError)


async def test_sql_error_is_not_retriable(postgres_handler: HandlerPostgres) -> None:
    """A syntax error raises a non-retriable RuntimeHostError with the server's message."""
    with pytest.raises(RuntimeHostError) as caught:
        await postgres_handler.execute("SELEC 1")
    assert not caught.value.retriable
    assert "syntax error" in caught.value.message


async def test_bad_argument_error_omits_the_argument(postgres_handler: HandlerPostgres) -> None:
    """A parameter of the wrong type fails without echoing the argument's value."""
    value = f"not-a-number-{uuid4().hex}"
    with pytest.raises(RuntimeHostError) as caught:
        await postgres_handler.fetchval("SELECT $1::int", value)
    assert not caught.value.retriable
    assert value not in str(caught.value)
    assert "$1" in caught.value.message


async def test_error_context_names_target_and_correlation(
    postgres_handler: HandlerPostgres, postgres_settings: ModelPostgresSettings
) -> None:
    """Errors carry transport, operation, host/port/database (no user) and the correlation id."""
    with correlation_scope() as correlation_id, pytest.raises(RuntimeHostError) as caught:
        await postgres_handler.fetch("SELECT * FROM missing_table")
    context = caught.value.infra_context
    assert context.correlation_id == correlation_id
    assert context.operation == "fetch"
    assert context.target_name == postgres_settings.target_name
    assert postgres_settings.user not in (context.target_name or "")


async def test_ping_reports_health_without_raising(
    postgres_server: EmbeddedPostgres, postgres_settings: ModelPostgresSettings
) -> None:
    """ping is healthy on a live server, unhealthy (not raising) when down or not started."""
    handler = HandlerPostgres(postgres_settings)
    assert not (await handler.ping()).healthy
    await handler.start()
    try:
        healthy = await handler.ping()
        assert healthy.healthy
        assert healthy.name == "postgres"
        await postgres_server.stop()
        down = await handler.ping()
        assert not down.healthy
        assert down.detail
    finally:
        await postgres_server.start()
        await handler.close()


async def test_calls_before_start_or_after_close_fail_clearly(
    postgres_settings: ModelPostgresSettings,
) -> None:
    """Using a handler that is not started raises a non-retriable InfraUnavailableError."""
    handler = HandlerPostgres(postgres_settings)
    with pytest.raises(InfraUnavailableError) as caught:
        await handler.fetchval("SELECT 1")
    assert not caught.value.retriable
    await handler.start()
    await handler.close()
    await handler.close()  # a second close is harmless
    with pytest.raises(InfraUnavailableError):
        await handler.execute("SELECT 1")


async def test_close_does_not_hang_on_a_connection_never_released(
    postgres_settings: ModelPostgresSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """close() cuts a borrowed connection after its grace period instead of waiting forever."""
    import omnibase_infra.handlers.postgres.handler_postgres as module

    monkeypatch.setattr(module, "_CLOSE_GRACE_SECONDS", 0.2)
    handler = await _started(postgres_settings)
    leaked = handler.connection()
    conn = await leaked.__aenter__()  # borrowed and never released
    await asyncio.wait_for(handler.close(), timeout=5)
    assert not handler.is_started
    with pytest.raises(InfraConnectionError):
        await conn.fetchval("SELECT 1")


async def test_password_never_appears_in_errors_logs_or_health(
    postgres_server: EmbeddedPostgres, postgres_database: str
) -> None:
    """The DSN's password is absent from settings' text, errors, health details and log lines."""
    password = postgres_server.password.get_secret_value()
    settings = ModelPostgresSettings.from_dsn(postgres_server.dsn(postgres_database))
    assert password not in repr(settings)
    assert password not in str(settings)
    assert password not in settings.model_dump_json()
    texts: list[str] = []
    with capture_logs() as logs:
        handler = await _started(settings)
        try:
            with pytest.raises(RuntimeHostError) as caught:
                await handler.execute("SELECT broken(")
            texts += [str(caught.value), repr(caught.value), caught.value.model_dump_json()]
            await postgres_server.stop()
            texts.append(str((await handler.ping()).detail))
            with pytest.raises(InfraConnectionError) as lost:
                await handler.fetchval("SELECT 1")
            texts += [str(lost.value), lost.value.model_dump_json()]
        finally:
            await postgres_server.start()
            await handler.close()
        bad = settings.model_copy(update={"port": _closed_port()})
        with pytest.raises(InfraConnectionError) as refused:
            await _started(bad)
        texts += [str(refused.value), refused.value.model_dump_json()]
    texts += [repr(line) for line in logs]
    assert texts
    assert all(password not in text for text in texts)


def _secret(value: str) -> object:
    from pydantic import SecretStr

    return SecretStr(value)


async def test_acquire_waits_at_most_the_acquire_timeout(
    postgres_settings: ModelPostgresSettings,
) -> None:
    """With every pooled connection held, a call fails after ``acquire_timeout_seconds`` with a
    retriable InfraTimeoutError, and works again once a connection is free."""
    handler = await _started(
        postgres_settings.model_copy(
            update={"pool_min_size": 1, "pool_max_size": 1, "acquire_timeout_seconds": 0.2}
        )
    )
    try:
        async with handler.connection() as held:
            with pytest.raises(InfraTimeoutError) as caught:
                await handler.fetchval("SELECT 1")
            assert caught.value.retriable
            assert "acquire" in caught.value.message
            assert await held.fetchval("SELECT 2") == 2  # the holder is unaffected
        assert await handler.fetchval("SELECT 3") == 3
    finally:
        await handler.close()


async def test_release_returns_the_connection_and_keeps_the_loops_task_factory(
    postgres_handler: HandlerPostgres,
) -> None:
    """A released connection is back in the pool at once, and the eager release leaves the
    event loop's task factory as it found it."""
    loop = asyncio.get_running_loop()
    factory = loop.get_task_factory()
    pool = postgres_handler._pool
    assert pool is not None
    idle_before = pool.get_idle_size()
    async with postgres_handler.connection() as conn:
        assert await conn.fetchval("SELECT 1") == 1
        assert pool.get_idle_size() == idle_before - 1
    assert pool.get_idle_size() == idle_before
    assert loop.get_task_factory() is factory


async def test_release_after_a_cancelled_block_leaves_no_transaction_open(
    postgres_handler: HandlerPostgres,
) -> None:
    """A block cancelled inside an unfinished transaction still releases its connection, rolled
    back (the release that must wait for the server runs to its end)."""
    await postgres_handler.execute("CREATE TABLE IF NOT EXISTS release_probe (id int)")
    started = asyncio.Event()

    async def stuck() -> None:
        async with postgres_handler.connection() as conn:
            await conn.execute("BEGIN")
            await conn.execute("INSERT INTO release_probe VALUES (1)")
            started.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(stuck())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await postgres_handler.fetchval("SELECT count(*) FROM release_probe") == 0
    pool = postgres_handler._pool
    assert pool is not None
    assert pool.get_idle_size() == pool.get_size()

"""PostgreSQL handler: an asyncpg pool behind ``ProtocolInfraHandler``, errors translated.

::

    handler = HandlerPostgres(ModelPostgresSettings.from_dsn(dsn))
    await handler.start()
    await handler.execute("INSERT INTO t (id, name) VALUES ($1, $2)", 1, "a")
    row = await handler.fetchrow("SELECT name FROM t WHERE id = $1", 1)
    async with handler.transaction(isolation="serializable") as tx:
        await tx.execute(...)
    await handler.close()

Queries take ``$n`` parameters only. Driver errors become this package's errors (see
``handlers.postgres.errors``). After PostgreSQL restarts the pool recovers by itself: a lost
connection fails the call in flight with a retriable ``InfraConnectionError`` and expires the
pool's other connections, and the next calls connect afresh. While the server is down,
asyncpg's own attempts to refill the pool are logged on one line each, not with a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from types import TracebackType

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from omnibase_infra.deadlines import DeadlineWatchdog
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import InfraTimeoutError, InfraUnavailableError, ModelInfraErrorContext
from omnibase_infra.handlers.postgres.connection import PostgresConnection, PostgresIsolation
from omnibase_infra.handlers.postgres.errors import translate_postgres_error
from omnibase_infra.handlers.postgres.model_postgres_settings import ModelPostgresSettings
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.sanitize import register_secret, sanitize_text

__all__ = ["HandlerPostgres"]

_log = get_logger(__name__)

_CLOSE_GRACE_SECONDS = 10.0
# asyncpg pool warnings repeated within this long are dropped (see _OneLineDriverFailure).
_REPEAT_SECONDS = 30.0
_REPEAT_KEYS = 64


class _OneLineDriverFailure(logging.Filter):
    """asyncpg pool warnings: the exception on the line instead of its traceback, and the same
    line at most once per ``_REPEAT_SECONDS``.

    The pool logs every failed attempt to restore its connection floor (every second or few
    while PostgreSQL is down) with a whole traceback; what an operator needs is what failed.
    """

    def __init__(self) -> None:
        super().__init__()
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            record.msg = f"{record.getMessage()} ({type(error).__name__}: {error})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        text = record.getMessage()
        now = time.monotonic()
        if now - self._last.get(text, -_REPEAT_SECONDS) < _REPEAT_SECONDS:
            return False
        if len(self._last) >= _REPEAT_KEYS:
            self._last.clear()
        self._last[text] = now
        return True


logging.getLogger("asyncpg.pool").addFilter(_OneLineDriverFailure())


class HandlerPostgres:
    """Pooled access to one PostgreSQL database (handler name ``postgres``)."""

    def __init__(self, settings: ModelPostgresSettings) -> None:
        self._settings = settings
        self._target_name = settings.target_name
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None
        # One timer for every acquire's deadline instead of asyncpg's wait_for per acquire
        # (every one-statement call acquires; see omnibase_infra.deadlines).
        self._acquire_deadlines = DeadlineWatchdog(
            settings.acquire_timeout_seconds,
            operation="acquire",
            target_name=self._target_name,
            transport_type=EnumInfraTransportType.DATABASE,
        )
        if settings.password is not None:
            register_secret(settings.password.get_secret_value())

    @property
    def handler_name(self) -> str:
        """``postgres``."""
        return "postgres"

    @property
    def transport_type(self) -> EnumInfraTransportType:
        """``DATABASE``."""
        return EnumInfraTransportType.DATABASE

    @property
    def settings(self) -> ModelPostgresSettings:
        """The settings this handler connects with."""
        return self._settings

    @property
    def is_started(self) -> bool:
        """True between a successful ``start`` and ``close``."""
        return self._pool is not None

    async def start(self) -> None:
        """Open the pool (``pool_min_size`` connections); idempotent."""
        if self._pool is not None:
            return
        s = self._settings
        server_settings = {"application_name": s.application_name}
        if s.statement_timeout_seconds is not None:
            server_settings["statement_timeout"] = f"{round(s.statement_timeout_seconds * 1000)}ms"
        pool: asyncpg.Pool[asyncpg.Record] = asyncpg.create_pool(
            host=s.host,
            port=s.port,
            user=s.user,
            password=s.password.get_secret_value() if s.password is not None else None,
            database=s.database,
            ssl=s.ssl,
            min_size=s.pool_min_size,
            max_size=s.pool_max_size,
            timeout=s.connect_timeout_seconds,
            command_timeout=s.command_timeout_seconds,
            max_inactive_connection_lifetime=s.max_inactive_connection_lifetime_seconds,
            server_settings=server_settings,
            reset=_keep_session,
        )
        try:
            await pool
        except Exception as e:
            pool.terminate()
            raise translate_postgres_error(e, operation="start", target_name=s.target_name) from e
        self._pool = pool
        _log.info(
            "postgres pool started",
            target=s.target_name,
            min_size=s.pool_min_size,
            max_size=s.pool_max_size,
        )

    async def close(self) -> None:
        """Close the pool (connections in use get a grace period, then are cut); idempotent."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            # pool.close() waits for every borrowed connection: bound it so that a connection
            # someone never released cannot hang the runtime's shutdown.
            async with asyncio.timeout(_CLOSE_GRACE_SECONDS):
                await pool.close()
        except Exception as e:
            # Closing cannot be retried usefully; make sure nothing stays open.
            pool.terminate()
            _log.warning("postgres pool close failed", error=sanitize_text(repr(e)))
        _log.info("postgres pool closed", target=self._settings.target_name)

    async def ping(self) -> ModelHealthCheckResult:
        """``SELECT 1`` through the pool; reports failure in the result, never raises."""
        started = time.perf_counter()
        pool = self._pool
        if pool is None:
            return ModelHealthCheckResult(
                name=self.handler_name, healthy=False, detail="handler not started"
            )
        timeout = self._settings.connect_timeout_seconds
        try:
            async with pool.acquire(timeout=timeout) as conn:
                await conn.fetchval("SELECT 1")
        except Exception as e:
            return ModelHealthCheckResult.failed(
                self.handler_name, e, (time.perf_counter() - started) * 1000
            )
        return ModelHealthCheckResult(
            name=self.handler_name,
            healthy=True,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def connection(self) -> _PooledConnection:
        """``async with handler.connection() as conn:`` one pooled connection for several calls."""
        return _PooledConnection(self, self._require_pool("connection"))

    @asynccontextmanager
    async def transaction(
        self,
        *,
        isolation: PostgresIsolation | None = None,
        readonly: bool = False,
        deferrable: bool = False,
    ) -> AsyncIterator[PostgresConnection]:
        """``async with handler.transaction() as tx:`` commit on success, roll back on error."""
        async with (
            self.connection() as conn,
            conn.transaction(isolation=isolation, readonly=readonly, deferrable=deferrable) as tx,
        ):
            yield tx

    async def execute(self, query: str, *args: object) -> str:
        """Run a statement with ``$n`` parameters; returns the command tag."""
        async with self.connection() as conn:
            return await conn.execute(query, *args)

    async def executemany(self, query: str, args: Iterable[Sequence[object]]) -> None:
        """Run a statement once per parameter tuple, atomically."""
        async with self.connection() as conn:
            await conn.executemany(query, args)

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        """Every row of a query."""
        async with self.connection() as conn:
            return await conn.fetch(query, *args)

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        """The first row of a query, or None."""
        async with self.connection() as conn:
            return await conn.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: object, column: int = 0) -> object:
        """One value of the first row of a query (None when there is no row)."""
        async with self.connection() as conn:
            return await conn.fetchval(query, *args, column=column)

    async def _connection_lost(self) -> None:
        """Make the pool replace its other connections too: they died with the same server."""
        pool = self._pool
        if pool is not None:
            await pool.expire_connections()

    def _require_pool(self, operation: str) -> asyncpg.Pool[asyncpg.Record]:
        """The started pool, or a clear error when the handler is not started (or closed)."""
        if self._pool is None:
            raise InfraUnavailableError(
                "PostgreSQL handler is not started",
                context=ModelInfraErrorContext(
                    transport_type=EnumInfraTransportType.DATABASE,
                    operation=operation,
                    target_name=self._settings.target_name,
                ),
                retriable=False,
            )
        return self._pool


async def _keep_session(connection: asyncpg.Connection[asyncpg.Record]) -> None:
    """Release a connection to the pool without asyncpg's default reset round trip.

    asyncpg already rolls back an open transaction and drops listeners before calling this;
    its default then runs ``RESET ALL; CLOSE ALL; UNLISTEN *; pg_advisory_unlock_all()`` on
    every release, which doubles the round trips of one-statement calls. Nothing here leaves
    session state on a pooled connection (settings are connection parameters; the migration
    runner releases its advisory lock itself), so there is nothing to reset.
    """


class _PooledConnection:
    """Acquires a pooled connection on enter (translated errors) and releases it on exit."""

    def __init__(self, handler: HandlerPostgres, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        self._handler = handler
        self._pool = pool
        self._proxy: PoolConnectionProxy[asyncpg.Record] | None = None

    async def __aenter__(self) -> PostgresConnection:
        handler = self._handler
        deadlines = handler._acquire_deadlines
        deadline = deadlines.enter()
        try:
            self._proxy = await self._pool.acquire()
        except BaseException as e:
            error = deadlines.leave_failed(deadline, e)
            if isinstance(error, InfraTimeoutError):  # our deadline: translated as asyncpg's
                error = TimeoutError(
                    f"no pooled connection free within {deadlines.timeout_seconds}s"
                )
            elif not isinstance(error, Exception):
                raise  # cancelled from outside
            raise translate_postgres_error(
                error, operation="acquire", target_name=handler._target_name
            ) from e
        deadlines.leave(deadline)
        return PostgresConnection(
            self._proxy,
            target_name=handler._target_name,
            on_connection_lost=handler._connection_lost,
        )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proxy, self._proxy = self._proxy, None
        if proxy is None:
            return
        try:
            release = _release_eagerly(self._pool, proxy)
            if release.done():
                release.result()
            else:
                await asyncio.shield(release)  # like asyncpg's own: a cancel cannot stop it
        except Exception as e:
            # asyncpg terminates a connection it cannot reset; the work itself already ended.
            _log.warning("postgres connection release failed", error=sanitize_text(repr(e)))


def _release_eagerly(
    pool: asyncpg.Pool[asyncpg.Record], proxy: PoolConnectionProxy[asyncpg.Record]
) -> asyncio.Future[None]:
    """``pool.release(proxy)`` started at once, usually finished before this returns.

    asyncpg's release runs in a task of its own (``asyncio.shield``) so that a cancel cannot
    interrupt it; started lazily, that task and the shield's wake-ups cost three turns of the
    event loop per release, though nothing in it waits for the server when nothing is left to
    roll back (``_keep_session``). Started eagerly (Python 3.12's eager tasks, for the
    synchronous moment of starting it only), it runs to its end in place; whatever must wait
    (a rollback, a close) still goes on in its own task, as asyncpg's does.
    """
    loop = asyncio.get_running_loop()
    factory = loop.get_task_factory()
    loop.set_task_factory(asyncio.eager_task_factory)
    try:
        return asyncio.ensure_future(pool.release(proxy))
    finally:
        loop.set_task_factory(factory)

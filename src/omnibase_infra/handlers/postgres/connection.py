"""One PostgreSQL connection whose every call translates driver errors (and its transactions).

``HandlerPostgres.connection()`` and ``HandlerPostgres.transaction()`` yield a
``PostgresConnection``; the migration runner uses one to hold its advisory lock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import Literal, Protocol

import asyncpg
from asyncpg.transaction import Transaction

from omnibase_infra.errors import InfraConnectionError, RuntimeHostError
from omnibase_infra.handlers.postgres.errors import translate_postgres_error

__all__ = ["PostgresConnection", "PostgresIsolation", "PostgresTransaction"]

PostgresIsolation = Literal["read_committed", "repeatable_read", "serializable"]


class _DriverConnection(Protocol):
    """The part of asyncpg's connection (or pool proxy) this wrapper calls."""

    def is_closed(self) -> bool: ...

    def transaction(
        self,
        *,
        isolation: PostgresIsolation | None = ...,
        readonly: bool = ...,
        deferrable: bool = ...,
    ) -> Transaction: ...

    async def execute(self, query: str, *args: object) -> str: ...

    async def executemany(self, command: str, args: Iterable[Sequence[object]]) -> None: ...

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]: ...

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None: ...

    async def fetchval(self, query: str, *args: object, column: int = ...) -> object: ...


class PostgresConnection:
    """An acquired connection: parameterised queries only, errors translated at this boundary."""

    def __init__(
        self,
        connection: _DriverConnection,
        *,
        target_name: str,
        on_connection_lost: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._connection = connection
        self._target_name = target_name
        self._on_connection_lost = on_connection_lost

    @property
    def target_name(self) -> str:
        """Host, port and database this connection talks to (no credentials)."""
        return self._target_name

    async def translate(self, error: Exception, operation: str) -> RuntimeHostError:
        """The package error for a driver error on this connection (the caller raises it)."""
        translated = translate_postgres_error(
            error,
            operation=operation,
            target_name=self._target_name,
            connection_closed=self._is_closed(),
        )
        if isinstance(translated, InfraConnectionError) and self._on_connection_lost is not None:
            await self._on_connection_lost()
        return translated

    def _is_closed(self) -> bool:
        """Whether the connection is gone (a pooled one cut by the pool's close is, too)."""
        try:
            return self._connection.is_closed()
        except asyncpg.InterfaceError:
            return True  # "released back to the pool": this wrapper can no longer use it

    async def execute(self, query: str, *args: object) -> str:
        """Run a statement with ``$n`` parameters; returns the command tag (``INSERT 0 1``)."""
        try:
            return await self._connection.execute(query, *args)
        except Exception as e:
            raise await self.translate(e, "execute") from e

    async def executemany(self, query: str, args: Iterable[Sequence[object]]) -> None:
        """Run a statement once per parameter tuple, atomically."""
        try:
            await self._connection.executemany(query, args)
        except Exception as e:
            raise await self.translate(e, "executemany") from e

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        """Every row of a query."""
        try:
            return await self._connection.fetch(query, *args)
        except Exception as e:
            raise await self.translate(e, "fetch") from e

    async def fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        """The first row of a query, or None."""
        try:
            return await self._connection.fetchrow(query, *args)
        except Exception as e:
            raise await self.translate(e, "fetchrow") from e

    async def fetchval(self, query: str, *args: object, column: int = 0) -> object:
        """One value of the first row of a query (None when there is no row)."""
        try:
            return await self._connection.fetchval(query, *args, column=column)
        except Exception as e:
            raise await self.translate(e, "fetchval") from e

    def transaction(
        self,
        *,
        isolation: PostgresIsolation | None = None,
        readonly: bool = False,
        deferrable: bool = False,
    ) -> PostgresTransaction:
        """``async with conn.transaction():`` commits on success, rolls back on any exception."""
        return PostgresTransaction(
            self,
            self._connection.transaction(
                isolation=isolation, readonly=readonly, deferrable=deferrable
            ),
        )


class PostgresTransaction:
    """A transaction on a ``PostgresConnection``; begin and commit errors are translated."""

    def __init__(self, connection: PostgresConnection, transaction: Transaction) -> None:
        self._connection = connection
        self._transaction = transaction

    async def __aenter__(self) -> PostgresConnection:
        try:
            await self._transaction.start()
        except Exception as e:
            raise await self._connection.translate(e, "transaction.begin") from e
        return self._connection

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            try:
                # A serializable transaction may fail here, at commit: translated (retriable).
                await self._transaction.commit()
            except Exception as e:
                raise await self._connection.translate(e, "transaction.commit") from e
            return
        try:
            await self._transaction.rollback()
        except Exception as rollback_error:
            # The block's own error is the one worth raising (often the lost connection that
            # also made the rollback fail); the server rolls back when the session ends.
            await self._connection.translate(rollback_error, "transaction.rollback")

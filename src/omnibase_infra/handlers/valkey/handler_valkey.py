"""Valkey (or Redis) handler: get/set with TTL, delete, incr, and a simple distributed lock.

Built on redis-py's asyncio client over a bounded, blocking connection pool, with the client's
own retries switched off (retrying is the effect executor's job, from the contract). Driver
errors are translated at this boundary:

===============================================  =============================================
redis-py                                         raised here (retriable)
===============================================  =============================================
``AuthenticationError``, ``AuthorizationError``,  ``InfraAuthenticationError`` (no)
``NoPermissionError``
``TimeoutError``                                 ``InfraTimeoutError`` (yes)
``BusyLoadingError``                             ``InfraUnavailableError`` (yes)
``ConnectionError`` (refused, reset, pool wait)  ``InfraConnectionError`` (yes)
``ResponseError`` (e.g. WRONGTYPE)               ``RuntimeHostError`` (no)
===============================================  =============================================

The lock is the single-instance pattern from the Redis documentation: ``SET key token NX PX
ttl`` to acquire, and a Lua compare-and-delete to release, so only the owner's token releases
it and an expired lock taken over by someone else is left alone.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager

from redis import exceptions as redis_errors
from redis.asyncio import BlockingConnectionPool, Redis, SSLConnection
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraConnectionError,
    InfraTimeoutError,
    InfraUnavailableError,
    ModelInfraErrorContext,
    ProtocolConfigurationError,
    RuntimeHostError,
)
from omnibase_infra.handlers.valkey.model_valkey_lock import ModelValkeyLock
from omnibase_infra.handlers.valkey.model_valkey_settings import ModelValkeySettings
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.sanitize import register_secret

__all__ = ["HandlerValkey"]

_RELEASE_SCRIPT = """
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("del", KEYS[1])
end
return 0
"""
_LOCK_POLL_SECONDS = 0.05

ValkeyValue = bytes | str | int | float


class HandlerValkey:
    """Key/value, counters and locks on one Valkey server (``ProtocolInfraHandler``)."""

    def __init__(self, settings: ModelValkeySettings) -> None:
        self._settings = settings
        self._client: Redis | None = None
        if settings.password is not None:
            register_secret(settings.password.get_secret_value())

    def __repr__(self) -> str:
        return f"HandlerValkey(target={self._settings.target_name!r})"

    @property
    def handler_name(self) -> str:
        """``valkey``."""
        return "valkey"

    @property
    def transport_type(self) -> EnumInfraTransportType:
        """``VALKEY``."""
        return EnumInfraTransportType.VALKEY

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the pool and check the server answers (and accepts our credentials)."""
        if self._client is None:
            self._client = Redis(connection_pool=self._pool())
        await self._run("start", self._require().ping())

    async def ping(self) -> ModelHealthCheckResult:
        """One PING round trip; never raises."""
        started = time.perf_counter()
        try:
            await self._run("ping", self._require().ping())
        except Exception as e:  # ping reports, never raises
            return ModelHealthCheckResult.failed(self.handler_name, e, _elapsed_ms(started))
        return ModelHealthCheckResult(
            name=self.handler_name, healthy=True, latency_ms=_elapsed_ms(started)
        )

    async def close(self) -> None:
        """Close the client and its pool; safe to call twice."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose(close_connection_pool=True)

    # -- key/value ---------------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        """The value of ``key``, or None when it does not exist."""
        value = await self._run("get", self._require().get(self._key(key)))
        if value is None or isinstance(value, bytes):
            return value
        return str(value).encode()

    async def set(
        self,
        key: str,
        value: ValkeyValue,
        *,
        ttl_seconds: float | None = None,
        only_if_absent: bool = False,
    ) -> bool:
        """Set ``key`` (expiring after ``ttl_seconds``, millisecond precision); with
        ``only_if_absent`` only when it does not exist. Returns whether it was set."""
        ttl_ms = _ttl_ms(ttl_seconds, "ttl_seconds") if ttl_seconds is not None else None
        result = await self._run(
            "set",
            self._require().set(self._key(key), value, px=ttl_ms, nx=only_if_absent),
        )
        return bool(result)

    async def delete(self, *keys: str) -> int:
        """Delete ``keys``; returns how many existed."""
        if not keys:
            return 0
        count = await self._run("delete", self._require().delete(*(self._key(k) for k in keys)))
        return int(count)

    async def incr(self, key: str, amount: int = 1) -> int:
        """Add ``amount`` to the integer at ``key`` (created at 0); returns the new value."""
        value = await self._run("incr", self._require().incrby(self._key(key), amount))
        return int(value)

    async def ttl_seconds(self, key: str) -> float | None:
        """Seconds until ``key`` expires; None when it has no expiry or does not exist."""
        millis = int(await self._run("ttl", self._require().pttl(self._key(key))))
        return millis / 1000.0 if millis >= 0 else None

    # -- locks -------------------------------------------------------------------------------

    async def acquire_lock(
        self, name: str, *, ttl_seconds: float, wait_seconds: float = 0.0
    ) -> ModelValkeyLock | None:
        """Take lock ``name`` for ``ttl_seconds``, waiting up to ``wait_seconds`` for it.

        Returns the lock (keep it to release) or None when someone else still holds it.
        """
        ttl_ms = _ttl_ms(ttl_seconds, "ttl_seconds")
        key = self._key(f"lock:{name}")
        token = secrets.token_hex(16)
        deadline = time.monotonic() + max(0.0, wait_seconds)
        client = self._require()
        while True:
            taken = await self._run("acquire_lock", client.set(key, token, px=ttl_ms, nx=True))
            if taken:
                return ModelValkeyLock(name=name, key=key, token=token, ttl_seconds=ttl_seconds)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            await asyncio.sleep(min(_LOCK_POLL_SECONDS, remaining))

    async def release_lock(self, lock: ModelValkeyLock) -> bool:
        """Release ``lock`` if we still hold it; False when it expired or changed owner."""
        released = await self._run(
            "release_lock",
            self._require().eval(_RELEASE_SCRIPT, 1, lock.key, lock.token),
        )
        return int(released) == 1

    @asynccontextmanager
    async def hold_lock(
        self, name: str, *, ttl_seconds: float, wait_seconds: float = 0.0
    ) -> AsyncIterator[ModelValkeyLock]:
        """Hold lock ``name`` for the block; raises ``InfraUnavailableError`` (with the holder's
        remaining TTL as ``retry_after_seconds``) when it cannot be taken in time."""
        lock = await self.acquire_lock(name, ttl_seconds=ttl_seconds, wait_seconds=wait_seconds)
        if lock is None:
            retry_after = await self.ttl_seconds(f"lock:{name}")
            raise InfraUnavailableError(
                f"lock {name!r} is held by another owner",
                context=self._context("acquire_lock"),
                retry_after_seconds=retry_after,
            )
        try:
            yield lock
        finally:
            await self.release_lock(lock)

    # -- internals ---------------------------------------------------------------------------

    def _pool(self) -> BlockingConnectionPool:
        settings = self._settings
        connection_class: type[Connection] = SSLConnection if settings.ssl else Connection
        pool = BlockingConnectionPool(
            connection_class=connection_class,
            max_connections=settings.max_connections,
            timeout=settings.pool_wait_seconds,
            host=settings.host,
            port=settings.port,
            db=settings.db,
            username=settings.username,
            password=settings.password.get_secret_value() if settings.password else None,
            socket_timeout=settings.socket_timeout_seconds,
            socket_connect_timeout=settings.connect_timeout_seconds,
            client_name=settings.client_name,
            # No retries inside the driver: the effect executor owns retry policy.
            retry=Retry(NoBackoff(), 0),
        )
        if settings.ssl and settings.ssl_ca_path is not None:
            # Only SSLConnection takes this keyword, so it is added for TLS alone.
            pool.connection_kwargs["ssl_ca_certs"] = str(settings.ssl_ca_path)
        return pool

    def _require(self) -> Redis:
        if self._client is None:
            raise InfraConnectionError("handler is not started", context=self._context("call"))
        return self._client

    def _key(self, key: str) -> str:
        if not key:
            raise ProtocolConfigurationError("key must not be empty", context=self._context("key"))
        return f"{self._settings.key_prefix}{key}"

    def _context(self, operation: str) -> ModelInfraErrorContext:
        return ModelInfraErrorContext(
            transport_type=EnumInfraTransportType.VALKEY,
            operation=operation,
            target_name=self._settings.target_name,
        )

    async def _run[T](self, operation: str, call: Awaitable[T]) -> T:
        """Await one driver call, translating its errors."""
        try:
            return await call
        except redis_errors.RedisError as e:
            raise self._translate(e, operation) from e

    def _translate(self, error: redis_errors.RedisError, operation: str) -> RuntimeHostError:
        context = self._context(operation)
        kind = type(error).__name__
        if isinstance(
            error,
            redis_errors.AuthenticationError
            | redis_errors.AuthorizationError
            | redis_errors.NoPermissionError,
        ):
            return InfraAuthenticationError(
                f"Valkey rejected the credentials ({kind})", context=context, error_type=kind
            )
        if isinstance(error, redis_errors.TimeoutError):
            return InfraTimeoutError(f"Valkey call timed out ({kind})", context=context)
        if isinstance(error, redis_errors.BusyLoadingError):
            return InfraUnavailableError("Valkey is loading its dataset", context=context)
        if isinstance(error, redis_errors.ConnectionError):
            return InfraConnectionError(
                f"Valkey connection failed ({kind})", context=context, error_type=kind
            )
        # The server understood and refused the command (WRONGTYPE, out of range...).
        return RuntimeHostError(
            f"Valkey refused the command: {error}",
            context=context,
            retriable=False,
            error_type=kind,
        )


def _ttl_ms(seconds: float, field: str) -> int:
    """A positive TTL in whole milliseconds (at least 1)."""
    if seconds <= 0:
        raise ProtocolConfigurationError(f"{field} must be positive", field=field)
    return max(1, round(seconds * 1000))


def _elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0

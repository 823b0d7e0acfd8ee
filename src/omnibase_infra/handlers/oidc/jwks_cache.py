"""The provider's signing keys (JWKS), cached, refreshed on expiry or on an unknown key id.

Refreshes are coalesced (one fetch at a time) and rate-limited for unknown key ids, so a flood
of tokens with made-up ``kid`` values cannot turn into a flood of JWKS fetches. When a refresh
fails the keys already known keep working; only a key that is still unknown fails.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from jwt import PyJWK, PyJWTError
from pydantic import JsonValue

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraConnectionError,
    ModelInfraErrorContext,
    RuntimeHostError,
)
from omnibase_infra.observability.logging import get_logger

__all__ = ["OidcJwksCache"]

_log = get_logger(__name__)


class OidcJwksCache:
    """Signing keys by key id, fetched with ``fetch`` (which raises translated errors)."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[dict[str, JsonValue]]],
        *,
        ttl_seconds: float,
        min_refresh_interval_seconds: float,
        target_name: str,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._min_interval = min_refresh_interval_seconds
        self._target = target_name
        self._keys: list[tuple[PyJWK, str | None]] = []  # each key with the alg it declares
        self._fetched_at: float | None = None  # monotonic time of the last successful fetch
        self._attempted_at: float | None = None  # monotonic time of the last fetch attempt
        self._lock = asyncio.Lock()

    @property
    def key_ids(self) -> list[str]:
        """The key ids currently known (keys without an id are not listed)."""
        return [key.key_id for key, _ in self._keys if key.key_id]

    async def refresh(self) -> None:
        """Fetch the JWKS now (coalesced with any fetch already running)."""
        started_waiting = time.monotonic()
        async with self._lock:
            if self._attempted_at is not None and self._attempted_at >= started_waiting:
                return  # another task fetched while this one waited for the lock
            await self._refresh_locked()

    async def key_for(self, key_id: str | None, algorithm: str) -> PyJWK:
        """The key that signed a token with header ``kid``/``alg``; refreshes when the cache
        is stale or the id is unknown (at most once per interval); raises
        ``InfraAuthenticationError`` for a key that stays unknown."""
        now = time.monotonic()
        if self._fetched_at is None or now - self._fetched_at > self._ttl:
            await self._refresh_tolerating_failure()
        key = self._find(key_id, algorithm)
        if key is None and self._may_refresh_for_unknown_key():
            failure = await self._refresh_tolerating_failure()
            key = self._find(key_id, algorithm)
            if key is None and failure is not None:
                # The key may exist (a rotation) but the provider cannot be asked: that is an
                # infrastructure failure to retry, not proof that the token is bad.
                raise failure
        if key is None:
            raise InfraAuthenticationError(
                "JWT rejected: signed with an unknown key",
                context=self._context("validate_token"),
            )
        return key

    def _may_refresh_for_unknown_key(self) -> bool:
        attempted = self._attempted_at
        return attempted is None or time.monotonic() - attempted >= self._min_interval

    async def _refresh_tolerating_failure(self) -> RuntimeHostError | None:
        """Refresh; on failure keep the known keys and return the error (raise it when no key
        is known at all)."""
        try:
            await self.refresh()
        except RuntimeHostError as e:
            if not self._keys:
                raise
            _log.warning(
                "oidc jwks refresh failed; keeping known keys", error_type=type(e).__name__
            )
            return e
        return None

    async def _refresh_locked(self) -> None:
        self._attempted_at = time.monotonic()
        document = await self._fetch()
        keys = _signing_keys(document)
        if not keys:
            raise InfraConnectionError(
                "the provider's JWKS has no usable signing keys",
                context=self._context("fetch_jwks"),
            )
        self._keys = keys
        self._fetched_at = time.monotonic()
        _log.info("oidc jwks fetched", keys=len(keys), target=self._target)

    def _find(self, key_id: str | None, algorithm: str) -> PyJWK | None:
        """The key with ``key_id`` usable for ``algorithm``; without an id, the only such key."""
        candidates = [
            key
            for key, declared in self._keys
            if (key_id is None or key.key_id == key_id) and declared in (None, algorithm)
        ]
        if key_id is None and len(candidates) != 1:
            return None  # ambiguous: a provider with several keys must name one
        return candidates[0] if candidates else None

    def _context(self, operation: str) -> ModelInfraErrorContext:
        return ModelInfraErrorContext(
            transport_type=EnumInfraTransportType.HTTP,
            operation=operation,
            target_name=self._target,
        )


def _signing_keys(document: dict[str, JsonValue]) -> list[tuple[PyJWK, str | None]]:
    """The usable signature keys of a JWKS, each with the algorithm it is pinned to (if any).

    Keys for encryption (``use: enc``), of unsupported types, or malformed are skipped.
    """
    entries = document.get("keys")
    if not isinstance(entries, list):
        return []
    keys: list[tuple[PyJWK, str | None]] = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = PyJWK(entry)
        except PyJWTError:
            continue
        declared = entry.get("alg")
        keys.append((key, declared if isinstance(declared, str) else None))
    return keys

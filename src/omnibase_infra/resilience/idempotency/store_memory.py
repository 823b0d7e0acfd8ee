"""``IdempotencyStoreInmemory``: the idempotency store of unit tests and single-process runs.

Same semantics as the PostgreSQL store (atomic claim, leases, time to live) within one event
loop, and bounded: when ``max_entries`` keys are held, expired ones are dropped first, then the
oldest completed ones (with a warning: their redelivery would run again), down to 99% of the
bound so the next claims do not scan again. A claim in progress is never dropped; a claim that
finds every key in progress raises ``InfraUnavailableError`` (retriable). This store lives in
one process and is gone at a restart anyway; the PostgreSQL store keeps every key its TTL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import UUID, uuid4

from pydantic import JsonValue

from omnibase_infra.errors import InfraUnavailableError
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.resilience.idempotency.enum_idempotency_outcome import EnumIdempotencyOutcome
from omnibase_infra.resilience.idempotency.model_idempotency_claim import ModelIdempotencyClaim

__all__ = ["IdempotencyStoreInmemory"]

_log = get_logger(__name__)


class _Entry:
    __slots__ = ("done", "expires_at", "lease_until", "owner", "result")

    def __init__(self, owner: UUID, lease_until: float, expires_at: float) -> None:
        self.owner = owner
        self.lease_until = lease_until
        self.expires_at = expires_at
        self.done = False
        self.result: JsonValue = None


class IdempotencyStoreInmemory:
    """An in-process ``ProtocolIdempotencyStore``."""

    def __init__(
        self, *, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._max_entries = max_entries
        self._clock = clock

    def __len__(self) -> int:
        """Keys currently held (claimed or completed)."""
        return len(self._entries)

    async def claim(
        self, scope: str, key: str, *, lease_seconds: float, ttl_seconds: int
    ) -> ModelIdempotencyClaim:
        """Claim ``(scope, key)``; see ``ProtocolIdempotencyStore.claim``."""
        now = self._clock()
        entry = self._entries.get((scope, key))
        if entry is not None and entry.expires_at <= now:
            entry = None
        if entry is not None and entry.done:
            return ModelIdempotencyClaim(
                outcome=EnumIdempotencyOutcome.COMPLETED, result=entry.result
            )
        if entry is not None and entry.lease_until > now:
            return ModelIdempotencyClaim(
                outcome=EnumIdempotencyOutcome.IN_PROGRESS,
                retry_after_seconds=entry.lease_until - now,
            )
        if entry is None and len(self._entries) >= self._max_entries:
            self._make_room(now)
        token = uuid4()
        self._entries.pop((scope, key), None)  # a new claim goes to the end: newest
        self._entries[(scope, key)] = _Entry(token, now + lease_seconds, now + ttl_seconds)
        return ModelIdempotencyClaim(outcome=EnumIdempotencyOutcome.CLAIMED, token=token)

    async def complete(self, scope: str, key: str, token: UUID, result: JsonValue) -> bool:
        """Record the result of the owner's side effect."""
        entry = self._entries.get((scope, key))
        if entry is None or entry.owner != token or entry.done:
            return False
        entry.done = True
        entry.result = result
        return True

    async def release(self, scope: str, key: str, token: UUID) -> None:
        """Drop the owner's unfinished claim."""
        entry = self._entries.get((scope, key))
        if entry is not None and entry.owner == token and not entry.done:
            del self._entries[(scope, key)]

    def _make_room(self, now: float) -> None:
        """Drop expired keys, then the oldest completed ones, to 99% of ``max_entries``."""
        entries = self._entries
        self._drop_expired(now)
        keep = self._max_entries - max(1, self._max_entries // 100)
        if len(entries) > keep:
            # Insertion order is claim order, so the first completed keys are the oldest.
            oldest = [k for k, e in entries.items() if e.done][: len(entries) - keep]
            for k in oldest:
                del entries[k]
            if oldest:
                _log.warning(
                    "idempotency store full: oldest completed keys forgotten",
                    forgotten=len(oldest),
                    max_entries=self._max_entries,
                )
        if len(entries) >= self._max_entries:
            raise InfraUnavailableError(
                "idempotency store is full of claims in progress",
                operation="claim",
                max_entries=self._max_entries,
            )

    async def purge_expired(self) -> int:
        """Drop keys past their time to live."""
        return self._drop_expired(self._clock())

    def _drop_expired(self, now: float) -> int:
        expired = [k for k, e in self._entries.items() if e.expires_at <= now]
        for k in expired:
            del self._entries[k]
        return len(expired)

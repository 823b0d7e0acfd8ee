"""``IdempotencyStoreInmemory``: the idempotency store of unit tests and single-process runs.

Same semantics as the PostgreSQL store (atomic claim, leases, time to live) within one event
loop; bounded: when ``max_entries`` keys are held, expired ones are dropped first and a claim
that still finds no room raises ``InfraUnavailableError`` (never forgets a live key silently).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import UUID, uuid4

from pydantic import JsonValue

from omnibase_infra.errors import InfraUnavailableError
from omnibase_infra.resilience.idempotency.enum_idempotency_outcome import EnumIdempotencyOutcome
from omnibase_infra.resilience.idempotency.model_idempotency_claim import ModelIdempotencyClaim

__all__ = ["IdempotencyStoreInmemory"]


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
            await self.purge_expired()
            if len(self._entries) >= self._max_entries:
                raise InfraUnavailableError(
                    "idempotency store is full", operation="claim", max_entries=self._max_entries
                )
        token = uuid4()
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

    async def purge_expired(self) -> int:
        """Drop keys past their time to live."""
        now = self._clock()
        expired = [k for k, e in self._entries.items() if e.expires_at <= now]
        for k in expired:
            del self._entries[k]
        return len(expired)

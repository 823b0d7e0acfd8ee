"""Where effects remember which keys they handled (PostgreSQL in production, memory in tests)."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from pydantic import JsonValue

from omnibase_infra.resilience.idempotency.model_idempotency_claim import ModelIdempotencyClaim

__all__ = ["ProtocolIdempotencyStore"]


class ProtocolIdempotencyStore(Protocol):
    """Claim a key before a side effect, then record its result (or release the claim).

    ``claim`` is atomic: of any number of concurrent claims of a new key exactly one gets
    CLAIMED. A claim whose lease ran out (its owner died) may be taken over by a later claim.
    A completed key is remembered for ``ttl_seconds`` and answered with its result.

    The one gap no store can close: a worker that dies after its side effect but before
    ``complete`` leaves a claim that is taken over once its lease runs out, so that side effect
    may run again (leases are sized to outlive a call, see ``ModelEffectPolicy``). Side effects
    that are themselves idempotent (upserts, ids chosen by the caller) are safe regardless.
    """

    async def claim(
        self, scope: str, key: str, *, lease_seconds: float, ttl_seconds: int
    ) -> ModelIdempotencyClaim:
        """Try to become the owner of ``(scope, key)``."""
        ...

    async def complete(self, scope: str, key: str, token: UUID, result: JsonValue) -> bool:
        """Record the result; False if ``token`` no longer owns the claim (lease taken over)."""
        ...

    async def release(self, scope: str, key: str, token: UUID) -> None:
        """Give the claim up (the side effect failed), so a redelivery may try again."""
        ...

    async def purge_expired(self) -> int:
        """Forget keys past their time to live; returns how many were removed."""
        ...

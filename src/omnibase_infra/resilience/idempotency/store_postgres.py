"""``IdempotencyStorePostgres``: idempotency keys in PostgreSQL (migration 0300).

The claim is one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` statement: of any number of
concurrent claims of a new key exactly one inserts (PostgreSQL serialises them on the unique
key), and an existing row is only taken over when its lease ran out or it expired. The losers
read the row to learn whether the key is completed (replay its result) or in progress. Times
are the server's (``now()``), so every worker judges leases by the same clock.
"""

from __future__ import annotations

import json
from uuid import UUID, uuid4

from pydantic import JsonValue

from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.resilience.idempotency.enum_idempotency_outcome import EnumIdempotencyOutcome
from omnibase_infra.resilience.idempotency.model_idempotency_claim import ModelIdempotencyClaim

__all__ = ["IdempotencyStorePostgres"]

_CLAIM = """
INSERT INTO onex_idempotency_keys AS k (scope, key, status, owner, lease_until, expires_at)
VALUES ($1, $2, 'in_progress', $3, now() + make_interval(secs => $4),
        now() + make_interval(secs => $5))
ON CONFLICT (scope, key) DO UPDATE
   SET status = 'in_progress', owner = EXCLUDED.owner, result = NULL, claimed_at = now(),
       lease_until = EXCLUDED.lease_until, completed_at = NULL, expires_at = EXCLUDED.expires_at
 WHERE k.expires_at <= now() OR (k.status = 'in_progress' AND k.lease_until <= now())
RETURNING k.owner
"""
_READ = """
SELECT status, result::text AS result,
       greatest(extract(epoch FROM lease_until - now()), 0)::float8 AS lease_left,
       expires_at <= now() AS expired
  FROM onex_idempotency_keys
 WHERE scope = $1 AND key = $2
"""
_COMPLETE = """
UPDATE onex_idempotency_keys
   SET status = 'completed', result = $4::jsonb, completed_at = now()
 WHERE scope = $1 AND key = $2 AND owner = $3 AND status = 'in_progress'
"""
_RELEASE = """
DELETE FROM onex_idempotency_keys
 WHERE scope = $1 AND key = $2 AND owner = $3 AND status = 'in_progress'
"""
_PURGE = "DELETE FROM onex_idempotency_keys WHERE expires_at <= now()"

# A row can vanish (released, purged) between a lost claim and the read: claim again, a few
# times at most (each round means another worker made progress).
_CLAIM_ROUNDS = 5


def _affected(tag: str) -> int:
    """Rows affected, from a command tag such as ``UPDATE 1`` or ``DELETE 3``."""
    return int(tag.rsplit(" ", 1)[-1])


class IdempotencyStorePostgres:
    """A ``ProtocolIdempotencyStore`` on the ``onex_idempotency_keys`` table."""

    def __init__(self, handler: HandlerPostgres) -> None:
        self._handler = handler

    async def claim(
        self, scope: str, key: str, *, lease_seconds: float, ttl_seconds: int
    ) -> ModelIdempotencyClaim:
        """Claim ``(scope, key)``; see ``ProtocolIdempotencyStore.claim``."""
        for _ in range(_CLAIM_ROUNDS):
            token = uuid4()
            owner = await self._handler.fetchval(
                _CLAIM, scope, key, token, float(lease_seconds), float(ttl_seconds)
            )
            if owner == token:
                return ModelIdempotencyClaim(outcome=EnumIdempotencyOutcome.CLAIMED, token=token)
            row = await self._handler.fetchrow(_READ, scope, key)
            if row is None or row["expired"]:
                continue
            if row["status"] == "completed":
                result: JsonValue = None if row["result"] is None else json.loads(row["result"])
                return ModelIdempotencyClaim(
                    outcome=EnumIdempotencyOutcome.COMPLETED, result=result
                )
            if row["lease_left"] > 0:
                return ModelIdempotencyClaim(
                    outcome=EnumIdempotencyOutcome.IN_PROGRESS,
                    retry_after_seconds=float(row["lease_left"]),
                )
        # Still contended after several rounds: others are working on it right now.
        return ModelIdempotencyClaim(
            outcome=EnumIdempotencyOutcome.IN_PROGRESS, retry_after_seconds=1.0
        )

    async def complete(self, scope: str, key: str, token: UUID, result: JsonValue) -> bool:
        """Record the result; False if ``token`` no longer owns the claim."""
        tag = await self._handler.execute(
            _COMPLETE, scope, key, token, json.dumps(result, separators=(",", ":"))
        )
        return _affected(tag) == 1

    async def release(self, scope: str, key: str, token: UUID) -> None:
        """Delete the owner's unfinished claim."""
        await self._handler.execute(_RELEASE, scope, key, token)

    async def purge_expired(self) -> int:
        """Delete keys past their time to live."""
        return _affected(await self._handler.execute(_PURGE))

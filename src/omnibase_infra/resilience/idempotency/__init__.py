"""Idempotency of effects: a redelivered message causes no second side effect.

Stores: ``IdempotencyStoreInmemory`` (here) and ``store_postgres.IdempotencyStorePostgres``
(PostgreSQL, migration 0300; imported from its module so this package does not load asyncpg).
"""

from omnibase_infra.resilience.idempotency.enum_idempotency_outcome import EnumIdempotencyOutcome
from omnibase_infra.resilience.idempotency.keys import idempotency_key
from omnibase_infra.resilience.idempotency.model_idempotency_claim import ModelIdempotencyClaim
from omnibase_infra.resilience.idempotency.protocol_idempotency_store import (
    ProtocolIdempotencyStore,
)
from omnibase_infra.resilience.idempotency.store_memory import IdempotencyStoreInmemory

__all__ = [
    "EnumIdempotencyOutcome",
    "IdempotencyStoreInmemory",
    "ModelIdempotencyClaim",
    "ProtocolIdempotencyStore",
    "idempotency_key",
]

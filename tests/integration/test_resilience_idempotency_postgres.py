"""Idempotency on a real PostgreSQL: atomic claims, leases, replay, no second side effect."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from omnibase_infra.errors import InfraUnavailableError
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.resilience import (
    EffectExecutor,
    EnumIdempotencyOutcome,
    ModelEffectResult,
    ModelIdempotencyPolicy,
    RetryPolicy,
)
from omnibase_infra.resilience.idempotency.store_postgres import IdempotencyStorePostgres

pytestmark = pytest.mark.integration

_SIDE_EFFECTS = "CREATE TABLE side_effects (id bigserial PRIMARY KEY, message text NOT NULL)"


async def test_claim_complete_replay(postgres_migrated_handler: HandlerPostgres) -> None:
    """The first claim wins, a second sees IN_PROGRESS, after completion the result replays."""
    store = IdempotencyStorePostgres(postgres_migrated_handler)
    claim = await store.claim("fx", "k1", lease_seconds=60, ttl_seconds=3600)
    assert claim.outcome is EnumIdempotencyOutcome.CLAIMED
    assert claim.token is not None
    busy = await store.claim("fx", "k1", lease_seconds=60, ttl_seconds=3600)
    assert busy.outcome is EnumIdempotencyOutcome.IN_PROGRESS
    assert busy.retry_after_seconds is not None
    assert 0 < busy.retry_after_seconds <= 60
    assert await store.complete("fx", "k1", claim.token, {"rows": [1, 2], "ok": True})
    done = await store.claim("fx", "k1", lease_seconds=60, ttl_seconds=3600)
    assert done.outcome is EnumIdempotencyOutcome.COMPLETED
    assert done.result == {"rows": [1, 2], "ok": True}
    other = await store.claim("other-effect", "k1", lease_seconds=60, ttl_seconds=3600)
    assert other.outcome is EnumIdempotencyOutcome.CLAIMED


async def test_concurrent_claims_have_exactly_one_winner(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """Fifty simultaneous claims of one key over separate connections: one CLAIMED."""
    store = IdempotencyStorePostgres(postgres_migrated_handler)
    claims = await asyncio.gather(
        *(store.claim("fx", "race", lease_seconds=60, ttl_seconds=3600) for _ in range(50))
    )
    outcomes = [c.outcome for c in claims]
    assert outcomes.count(EnumIdempotencyOutcome.CLAIMED) == 1
    assert outcomes.count(EnumIdempotencyOutcome.IN_PROGRESS) == 49


async def test_abandoned_claim_is_taken_over_after_its_lease(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """A claim whose lease ran out goes to the next claimer; the old owner cannot complete."""
    store = IdempotencyStorePostgres(postgres_migrated_handler)
    first = await store.claim("fx", "lease", lease_seconds=0.05, ttl_seconds=3600)
    await asyncio.sleep(0.2)
    second = await store.claim("fx", "lease", lease_seconds=60, ttl_seconds=3600)
    assert second.outcome is EnumIdempotencyOutcome.CLAIMED
    assert first.token is not None
    assert second.token is not None
    assert not await store.complete("fx", "lease", first.token, "late")
    assert await store.complete("fx", "lease", second.token, "fresh")


async def test_release_frees_the_key_and_ttl_forgets_it(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """A released claim can be claimed again; an expired key is purged and claimable."""
    store = IdempotencyStorePostgres(postgres_migrated_handler)
    claim = await store.claim("fx", "rel", lease_seconds=60, ttl_seconds=3600)
    assert claim.token is not None
    await store.release("fx", "rel", claim.token)
    again = await store.claim("fx", "rel", lease_seconds=60, ttl_seconds=3600)
    assert again.outcome is EnumIdempotencyOutcome.CLAIMED
    short = await store.claim("fx", "ttl", lease_seconds=60, ttl_seconds=0)
    assert short.token is not None
    await store.complete("fx", "ttl", short.token, 1)
    assert await store.purge_expired() >= 1
    assert (
        await store.claim("fx", "ttl", lease_seconds=60, ttl_seconds=3600)
    ).outcome is EnumIdempotencyOutcome.CLAIMED


async def test_redelivered_and_concurrent_duplicates_write_once(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """Twenty concurrent deliveries plus later redeliveries of one message insert one row."""
    handler = postgres_migrated_handler
    await handler.execute(_SIDE_EFFECTS)
    store = IdempotencyStorePostgres(handler)
    executor = EffectExecutor(
        f"pg.idem.{uuid4().hex[:6]}",
        retry=RetryPolicy(max_attempts=2, base_delay_seconds=0.01),
        timeout_seconds=5.0,
        idempotency=ModelIdempotencyPolicy(),
        idempotency_store=store,
    )
    envelope_key = f"env:{uuid4()}"

    async def write() -> int:
        row_id = await handler.fetchval(
            "INSERT INTO side_effects (message) VALUES ($1) RETURNING id", envelope_key
        )
        assert isinstance(row_id, int)
        return row_id

    outcomes = await asyncio.gather(
        *(executor.execute(write, idempotency_key=envelope_key) for _ in range(20)),
        return_exceptions=True,
    )
    results = [o for o in outcomes if isinstance(o, ModelEffectResult)]
    winners = [r for r in results if not r.replayed]
    assert len(winners) == 1  # later finishers may already see the completed key (replayed)
    assert {r.value for r in results} == {winners[0].value}
    busy = [o for o in outcomes if not isinstance(o, ModelEffectResult)]
    assert all(isinstance(b, InfraUnavailableError) for b in busy)
    for _ in range(3):
        replay = await executor.execute(write, idempotency_key=envelope_key)
        assert replay.replayed
        assert replay.value == winners[0].value
    assert await handler.fetchval("SELECT count(*) FROM side_effects") == 1

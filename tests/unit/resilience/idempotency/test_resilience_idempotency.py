"""Idempotent effects and fallback: keys, the in-memory store, execute() and degradation."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest
from pydantic import BaseModel

from omnibase_infra.errors import (
    EnvelopeValidationError,
    InfraConnectionError,
    InfraUnavailableError,
    ProtocolConfigurationError,
    SecretResolutionError,
)
from omnibase_infra.resilience import (
    EffectExecutor,
    EnumIdempotencyOutcome,
    IdempotencyStoreInmemory,
    ModelEffectFallback,
    ModelEffectPolicy,
    ModelIdempotencyPolicy,
    RetryPolicy,
    idempotency_key,
)
from omnibase_infra.sanitize import register_secret
from omnibase_infra.testing import ManualClock


class _SideEffect:
    """Counts how often the side effect really ran."""

    def __init__(self, result: object = "written", fail: int = 0) -> None:
        self.runs = 0
        self.result = result
        self.fail = fail

    async def __call__(self) -> object:
        self.runs += 1
        await asyncio.sleep(0)
        if self.fail:
            self.fail -= 1
            raise InfraConnectionError("refused")
        return self.result


def _executor(
    store: IdempotencyStoreInmemory | None = None, clock: ManualClock | None = None, **kw: object
) -> EffectExecutor:
    clock = clock or ManualClock()
    options: dict[str, object] = {
        "retry": RetryPolicy(max_attempts=2, base_delay_seconds=1.0, jitter_factor=0.0),
        "idempotency": ModelIdempotencyPolicy(),
        "idempotency_store": store if store is not None else IdempotencyStoreInmemory(clock=clock),
        "clock": clock,
        "sleep": clock.sleep,
    }
    options.update(kw)
    return EffectExecutor(f"test.idem.{uuid4().hex[:8]}", **options)  # type: ignore[arg-type]


def test_key_is_the_envelope_id_by_default() -> None:
    """Without business key fields, the key is the envelope id."""
    envelope_id = uuid4()
    assert idempotency_key(ModelIdempotencyPolicy(), envelope_id) == f"env:{envelope_id}"


def test_business_key_ignores_the_envelope_id_and_field_order_of_payload() -> None:
    """Two messages with the same business key values get the same key."""
    policy = ModelIdempotencyPolicy(business_key_fields=("node_id", "reg.epoch"))
    first = idempotency_key(policy, uuid4(), {"reg": {"epoch": 3}, "node_id": "n1", "x": 1})
    second = idempotency_key(policy, uuid4(), {"node_id": "n1", "reg": {"epoch": 3}})
    other = idempotency_key(policy, uuid4(), {"node_id": "n1", "reg": {"epoch": 4}})
    assert first == second != other
    assert first.startswith("bk:")


def test_business_key_from_a_model_payload() -> None:
    """A pydantic payload is read by its JSON field names."""

    class Payload(BaseModel):
        node_id: str

    policy = ModelIdempotencyPolicy(business_key_fields=("node_id",))
    assert idempotency_key(policy, uuid4(), Payload(node_id="a")) == idempotency_key(
        policy, uuid4(), {"node_id": "a"}
    )


@pytest.mark.parametrize("payload", [{}, {"node_id": None}, {"node_id": {"nested": 1}}])
def test_missing_business_key_is_a_validation_error(payload: dict[str, object]) -> None:
    """A payload without a usable business key cannot be deduplicated, so it is refused."""
    policy = ModelIdempotencyPolicy(business_key_fields=("node_id",))
    with pytest.raises(EnvelopeValidationError, match="node_id"):
        idempotency_key(policy, uuid4(), payload)  # type: ignore[arg-type]


async def test_store_claims_once_then_replays_the_result() -> None:
    """First claim wins; after completion the same key replays the stored result."""
    store = IdempotencyStoreInmemory()
    claim = await store.claim("s", "k", lease_seconds=60, ttl_seconds=3600)
    assert claim.outcome is EnumIdempotencyOutcome.CLAIMED
    busy = await store.claim("s", "k", lease_seconds=60, ttl_seconds=3600)
    assert busy.outcome is EnumIdempotencyOutcome.IN_PROGRESS
    assert claim.token is not None
    assert await store.complete("s", "k", claim.token, {"id": 7})
    done = await store.claim("s", "k", lease_seconds=60, ttl_seconds=3600)
    assert (done.outcome, done.result) == (EnumIdempotencyOutcome.COMPLETED, {"id": 7})
    other_scope = await store.claim("t", "k", lease_seconds=60, ttl_seconds=3600)
    assert other_scope.outcome is EnumIdempotencyOutcome.CLAIMED


async def test_store_lets_an_expired_lease_be_taken_over_and_refuses_the_old_owner() -> None:
    """An abandoned claim is taken over after its lease; the old owner can no longer complete."""
    clock = ManualClock()
    store = IdempotencyStoreInmemory(clock=clock)
    first = await store.claim("s", "k", lease_seconds=10, ttl_seconds=3600)
    clock.advance(11)
    second = await store.claim("s", "k", lease_seconds=10, ttl_seconds=3600)
    assert second.outcome is EnumIdempotencyOutcome.CLAIMED
    assert first.token is not None
    assert second.token is not None
    assert not await store.complete("s", "k", first.token, "stale")
    assert await store.complete("s", "k", second.token, "fresh")


async def test_store_forgets_keys_after_their_ttl() -> None:
    """A completed key is forgotten after ttl_seconds and purged."""
    clock = ManualClock()
    store = IdempotencyStoreInmemory(clock=clock)
    claim = await store.claim("s", "k", lease_seconds=10, ttl_seconds=100)
    assert claim.token is not None
    await store.complete("s", "k", claim.token, 1)
    clock.advance(101)
    assert await store.purge_expired() == 1
    assert len(store) == 0


async def test_store_is_bounded() -> None:
    """A store full of claims in progress refuses new keys with a retriable error rather than
    dropping a claim whose side effect may be running."""
    store = IdempotencyStoreInmemory(max_entries=2)
    for key in ("a", "b"):
        await store.claim("s", key, lease_seconds=10, ttl_seconds=100)
    with pytest.raises(InfraUnavailableError, match="full"):
        await store.claim("s", "c", lease_seconds=10, ttl_seconds=100)


async def test_full_store_forgets_its_oldest_completed_keys() -> None:
    """A store full of completed keys drops the oldest completed ones (to 99% of the bound),
    keeps the claim in progress and the newer keys, and takes the new claim."""
    store = IdempotencyStoreInmemory(max_entries=200)
    in_progress = await store.claim("s", "running", lease_seconds=10, ttl_seconds=100)
    for i in range(199):
        claim = await store.claim("s", f"k{i}", lease_seconds=10, ttl_seconds=100)
        assert claim.token is not None
        await store.complete("s", f"k{i}", claim.token, i)
    new = await store.claim("s", "new", lease_seconds=10, ttl_seconds=100)
    assert new.outcome is EnumIdempotencyOutcome.CLAIMED
    assert len(store) == 199  # 200 held, 2 oldest completed dropped, the new one added
    kept = await store.claim("s", "k2", lease_seconds=10, ttl_seconds=100)
    assert (kept.outcome, kept.result) == (EnumIdempotencyOutcome.COMPLETED, 2)
    running = await store.claim("s", "running", lease_seconds=10, ttl_seconds=100)
    assert running.outcome is EnumIdempotencyOutcome.IN_PROGRESS
    assert in_progress.token is not None
    forgotten = await store.claim("s", "k0", lease_seconds=10, ttl_seconds=100)
    assert forgotten.outcome is EnumIdempotencyOutcome.CLAIMED


async def test_redelivered_message_causes_no_second_side_effect() -> None:
    """The same key executed twice runs the side effect once and replays its result."""
    effect = _SideEffect({"row": 1})
    executor = _executor()
    first = await executor.execute(effect, idempotency_key="env:1")
    second = await executor.execute(effect, idempotency_key="env:1")
    assert effect.runs == 1
    assert (first.value, first.replayed) == ({"row": 1}, False)
    assert (second.value, second.replayed) == ({"row": 1}, True)


async def test_concurrent_duplicates_run_the_side_effect_once() -> None:
    """Of many simultaneous deliveries of one message, one runs; the others are told to wait."""
    effect = _SideEffect()
    executor = _executor()
    outcomes = await asyncio.gather(
        *(executor.execute(effect, idempotency_key="env:dup") for _ in range(20)),
        return_exceptions=True,
    )
    assert effect.runs == 1
    busy = [o for o in outcomes if isinstance(o, InfraUnavailableError)]
    assert len(busy) == 19
    assert all(b.retriable and b.retry_after_seconds is not None for b in busy)
    replay = await executor.execute(effect, idempotency_key="env:dup")
    assert replay.replayed
    assert effect.runs == 1


async def test_failed_side_effect_releases_its_claim() -> None:
    """After a failure the key is free again, so a redelivery really runs the side effect."""
    effect = _SideEffect(fail=2)
    executor = _executor()
    with pytest.raises(InfraConnectionError):
        await executor.execute(effect, idempotency_key="env:2")
    result = await executor.execute(effect, idempotency_key="env:2")
    assert result.value == "written"
    assert not result.replayed
    assert effect.runs == 3


async def test_model_results_are_stored_as_json() -> None:
    """A pydantic result is recorded (and replayed) as its JSON form."""

    class Out(BaseModel):
        id: int

    async def effect() -> Out:
        return Out(id=5)

    executor = _executor()
    assert (await executor.execute(effect, idempotency_key="k")).value == {"id": 5}
    assert (await executor.execute(effect, idempotency_key="k")).value == {"id": 5}


async def test_idempotent_execute_needs_a_key() -> None:
    """An idempotent effect executed without a key is a configuration error, not a silent run."""
    effect = _SideEffect()
    with pytest.raises(ProtocolConfigurationError, match="idempotency_key"):
        await _executor().execute(effect)
    assert effect.runs == 0


def test_idempotent_executor_needs_a_store() -> None:
    """Building an idempotent executor without a store fails at construction."""
    with pytest.raises(ProtocolConfigurationError, match="store"):
        EffectExecutor.from_policy("x", ModelEffectPolicy())


async def test_static_fallback_answers_degraded_when_the_dependency_is_down() -> None:
    """When retries are exhausted the declared static value is returned, marked degraded."""
    effect = _SideEffect(fail=5)
    executor = _executor(fallback=ModelEffectFallback(kind="static", value={"status": "unknown"}))
    result = await executor.execute(effect, idempotency_key="k")
    assert result.degraded
    assert result.value == {"status": "unknown"}
    assert result.error is not None
    assert "InfraConnectionError" in result.error
    assert effect.runs == 2


async def test_degraded_result_is_not_recorded_as_done() -> None:
    """A degraded answer leaves the key free: a later delivery performs the real side effect."""
    effect = _SideEffect(fail=2)
    executor = _executor(fallback=ModelEffectFallback(kind="static", value=None))
    assert (await executor.execute(effect, idempotency_key="k")).degraded
    real = await executor.execute(effect, idempotency_key="k")
    assert (real.degraded, real.replayed, real.value) == (False, False, "written")


async def test_handler_fallback_gets_the_error() -> None:
    """A handler fallback registered by name is called with the failure."""
    seen: list[BaseException] = []

    async def cached(error: BaseException) -> str:
        seen.append(error)
        return "cached"

    executor = _executor(
        fallback=ModelEffectFallback(kind="handler", handler="cache"),
        fallback_handlers={"cache": cached},
    )
    result = await executor.execute(_SideEffect(fail=5), idempotency_key="k")
    assert result.value == "cached"
    assert result.degraded
    assert isinstance(seen[0], InfraConnectionError)


def test_unregistered_fallback_handler_is_refused() -> None:
    """A fallback naming a handler nobody registered fails at construction (no import)."""
    with pytest.raises(ProtocolConfigurationError, match="not registered"):
        _executor(fallback=ModelEffectFallback(kind="handler", handler="os.system"))


async def test_client_errors_are_never_hidden_by_the_fallback() -> None:
    """A client error (bad input, missing secret) is raised even with a fallback declared."""

    async def effect() -> str:
        raise SecretResolutionError("no such secret")

    executor = _executor(fallback=ModelEffectFallback(kind="static", value="x"))
    with pytest.raises(SecretResolutionError):
        await executor.execute(effect, idempotency_key="k")


async def test_degraded_reason_does_not_leak_secrets() -> None:
    """The degraded result's error text is sanitised."""
    secret = f"pw-{uuid4().hex}"
    register_secret(secret)

    async def effect() -> str:
        raise ConnectionError(f"postgresql://app:{secret}@db/x refused")

    executor = _executor(fallback=ModelEffectFallback(kind="static", value="x"))
    result = await executor.execute(effect, idempotency_key="k")
    assert result.error is not None
    assert secret not in result.error


async def test_non_idempotent_effects_run_every_time() -> None:
    """With idempotency disabled the side effect runs on every execution."""
    effect = _SideEffect()
    executor = _executor(idempotency=ModelIdempotencyPolicy(enabled=False), idempotency_store=None)
    for _ in range(3):
        assert (await executor.execute(effect)).value == "written"
    assert effect.runs == 3

"""The public surface of omnibase_infra.resilience: sorted, complete and importable."""

from __future__ import annotations

import omnibase_infra.nodes.node_circuit_breaker_compute as node_package
import omnibase_infra.resilience as resilience
import omnibase_infra.resilience.idempotency as idempotency
import omnibase_infra.resilience.outbox as outbox

_PUBLIC = [
    "AsyncCircuitBreaker",
    "CircuitBreakerRules",
    "CompensatingEffect",
    "DeadlineWatchdog",
    "EffectExecutor",
    "EnumIdempotencyOutcome",
    "FallbackHandler",
    "IdempotencyStoreInmemory",
    "MixinAsyncCircuitBreaker",
    "ModelCircuitBreakerSnapshot",
    "ModelCompensationFailure",
    "ModelCompensationResult",
    "ModelEffectFallback",
    "ModelEffectPolicy",
    "ModelEffectResult",
    "ModelEffectStep",
    "ModelIdempotencyClaim",
    "ModelIdempotencyPolicy",
    "ProtocolCredentialRefresher",
    "ProtocolIdempotencyStore",
    "RetryPolicy",
    "Sleep",
    "StepAction",
    "StepCompensation",
    "idempotency_key",
    "is_dependency_failure",
]


def test_resilience_exports_exactly_the_documented_names() -> None:
    """resilience.__all__ is this list, sorted, and every name resolves."""
    assert resilience.__all__ == _PUBLIC
    assert sorted(resilience.__all__) == resilience.__all__
    for name in _PUBLIC:
        assert getattr(resilience, name) is not None


def test_subpackages_have_sorted_importable_surfaces() -> None:
    """idempotency, outbox and the circuit-breaker node export sorted, resolvable names."""
    for package in (idempotency, outbox, node_package):
        assert sorted(package.__all__) == package.__all__
        for name in package.__all__:
            assert getattr(package, name) is not None


def test_mixin_is_importable_where_the_platform_documents_it() -> None:
    """``from omnibase_infra.mixins import MixinAsyncCircuitBreaker`` is the resilience mixin."""
    from omnibase_infra.mixins import MixinAsyncCircuitBreaker

    assert MixinAsyncCircuitBreaker is resilience.MixinAsyncCircuitBreaker

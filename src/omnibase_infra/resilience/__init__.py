"""Resilience declared in contracts: circuit breaker, retry, timeout, effect executor,
idempotency, transactional outbox and compensation.

Handlers never implement any of this: the runtime builds an ``EffectExecutor`` from each effect
contract's ``error_handling`` section (``ModelEffectPolicy``) and every handler call goes
through it.
"""

from omnibase_infra.deadlines import DeadlineWatchdog
from omnibase_infra.resilience.breaker.breaker import AsyncCircuitBreaker
from omnibase_infra.resilience.breaker.mixin import MixinAsyncCircuitBreaker
from omnibase_infra.resilience.breaker.model_circuit_breaker_snapshot import (
    ModelCircuitBreakerSnapshot,
)
from omnibase_infra.resilience.breaker.rules import CircuitBreakerRules
from omnibase_infra.resilience.classify import is_dependency_failure
from omnibase_infra.resilience.compensation.compensating_effect import (
    CompensatingEffect,
    StepAction,
    StepCompensation,
)
from omnibase_infra.resilience.compensation.model_compensation_failure import (
    ModelCompensationFailure,
)
from omnibase_infra.resilience.compensation.model_compensation_result import ModelCompensationResult
from omnibase_infra.resilience.effect.executor import EffectExecutor, FallbackHandler, Sleep
from omnibase_infra.resilience.effect.model_effect_fallback import ModelEffectFallback
from omnibase_infra.resilience.effect.model_effect_policy import ModelEffectPolicy
from omnibase_infra.resilience.effect.model_effect_result import ModelEffectResult
from omnibase_infra.resilience.effect.model_effect_step import ModelEffectStep
from omnibase_infra.resilience.effect.model_idempotency_policy import ModelIdempotencyPolicy
from omnibase_infra.resilience.effect.protocol_credential_refresher import (
    ProtocolCredentialRefresher,
)
from omnibase_infra.resilience.effect.retry import RetryPolicy
from omnibase_infra.resilience.idempotency import (
    EnumIdempotencyOutcome,
    IdempotencyStoreInmemory,
    ModelIdempotencyClaim,
    ProtocolIdempotencyStore,
    idempotency_key,
)

__all__ = [
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

"""Resilience declared in contracts: circuit breaker, retry, timeout, effect executor,
idempotency, transactional outbox and compensation.

Handlers never implement any of this: the runtime builds an ``EffectExecutor`` from each effect
contract's ``error_handling`` section (``ModelEffectPolicy``) and every handler call goes
through it.
"""

from omnibase_infra.deadlines import DeadlineWatchdog
from omnibase_infra.resilience.async_circuit_breaker import AsyncCircuitBreaker
from omnibase_infra.resilience.circuit_breaker import MixinAsyncCircuitBreaker
from omnibase_infra.resilience.circuit_breaker_rules import CircuitBreakerRules
from omnibase_infra.resilience.classify import is_dependency_failure
from omnibase_infra.resilience.compensation import (
    CompensatingEffect,
    StepAction,
    StepCompensation,
)
from omnibase_infra.resilience.executor import EffectExecutor, FallbackHandler, Sleep
from omnibase_infra.resilience.idempotency import (
    EnumIdempotencyOutcome,
    IdempotencyStoreInmemory,
    ModelIdempotencyClaim,
    ProtocolIdempotencyStore,
    idempotency_key,
)
from omnibase_infra.resilience.model_circuit_breaker_snapshot import ModelCircuitBreakerSnapshot
from omnibase_infra.resilience.model_compensation_failure import ModelCompensationFailure
from omnibase_infra.resilience.model_compensation_result import ModelCompensationResult
from omnibase_infra.resilience.model_effect_fallback import ModelEffectFallback
from omnibase_infra.resilience.model_effect_policy import ModelEffectPolicy
from omnibase_infra.resilience.model_effect_result import ModelEffectResult
from omnibase_infra.resilience.model_effect_step import ModelEffectStep
from omnibase_infra.resilience.model_idempotency_policy import ModelIdempotencyPolicy
from omnibase_infra.resilience.protocol_credential_refresher import ProtocolCredentialRefresher
from omnibase_infra.resilience.retry import RetryPolicy

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

"""Mixins at the import path the platform's coding rules document.

``from omnibase_infra.mixins import MixinAsyncCircuitBreaker`` is the circuit-breaker mixin of
``omnibase_infra.resilience`` (same class, same rules: ``CircuitBreakerRules``).
"""

from omnibase_infra.resilience.breaker.mixin import MixinAsyncCircuitBreaker

__all__ = ["MixinAsyncCircuitBreaker"]

"""``CircuitBreakerRegistry``: every circuit breaker one runtime owns, readable in one place.

The runtime puts one in its container. Whoever builds a breaker for the runtime registers it
with the node that owns it: the executor of each EFFECT node (its contract's
``error_handling.circuit_breaker``) and a node's own breakers (the webhook node's, one per
endpoint). The health monitor reads it every round, so an effect's open breaker reaches its
health-changed events and ``/ready``; ``/metrics`` and the dashboard read the same breakers
through ``onex_circuit_breaker_state``, which every breaker keeps up to date itself.
"""

from __future__ import annotations

from omnibase_infra.resilience.breaker.breaker import AsyncCircuitBreaker
from omnibase_infra.resilience.breaker.model_circuit_breaker_snapshot import (
    ModelCircuitBreakerSnapshot,
)

__all__ = ["CircuitBreakerRegistry"]


class CircuitBreakerRegistry:
    """The runtime's breakers by the dependency they guard (their ``service_name``)."""

    def __init__(self) -> None:
        self._breakers: dict[str, tuple[str, AsyncCircuitBreaker]] = {}

    def register(self, owner: str, breaker: AsyncCircuitBreaker) -> None:
        """Make ``breaker`` (built by the node ``owner``) visible; one per service name: a
        breaker shared by several effects is registered once, by the first."""
        self._breakers.setdefault(breaker.service_name, (owner, breaker))

    def snapshots(self) -> dict[str, tuple[str, ModelCircuitBreakerSnapshot]]:
        """Each breaker's owner and state now, by service name (sorted)."""
        return {
            name: (owner, breaker.snapshot())
            for name, (owner, breaker) in sorted(self._breakers.items())
        }

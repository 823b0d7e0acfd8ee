"""``CircuitBreakerRegistry``: every circuit breaker one runtime owns, readable in one place.

The runtime puts one in its container. Whoever builds a breaker for the runtime registers it
with the node that owns it: the executor of each EFFECT node (its contract's
``error_handling.circuit_breaker``) and a node's own breakers (the webhook node's, one per
endpoint). The health monitor reads it every round, so an effect's open breaker reaches its
health-changed events and ``/ready``; ``/metrics`` and the dashboard read the same breakers
through ``onex_circuit_breaker_state`` (labels ``dependency`` and ``node``), which every breaker
keeps up to date itself. Two effects that name the same dependency each keep their own breaker,
so each is shown: breakers are kept by owner and dependency, named by ``breaker_name``.
"""

from __future__ import annotations

from omnibase_infra.resilience.breaker.breaker import AsyncCircuitBreaker
from omnibase_infra.resilience.breaker.model_circuit_breaker_snapshot import (
    ModelCircuitBreakerSnapshot,
)

__all__ = ["CircuitBreakerRegistry", "breaker_name"]


def breaker_name(dependency: str, node: str) -> str:
    """How a breaker is named on the dashboard and in ``/ready``: its dependency, followed by
    the owning node in parentheses when there is one and it is not the dependency's name."""
    return dependency if not node or node == dependency else f"{dependency} ({node})"


class CircuitBreakerRegistry:
    """The runtime's breakers by owner and the dependency they guard (their ``service_name``)."""

    def __init__(self) -> None:
        self._breakers: dict[tuple[str, str], AsyncCircuitBreaker] = {}

    def register(self, owner: str, breaker: AsyncCircuitBreaker) -> None:
        """Make ``breaker`` (built by the node ``owner``) visible; registering the same owner
        and dependency again keeps the first."""
        self._breakers.setdefault((owner, breaker.service_name), breaker)

    def snapshots(self) -> dict[str, tuple[str, ModelCircuitBreakerSnapshot]]:
        """Each breaker's owner and state now, by ``breaker_name`` (sorted)."""
        named = {
            breaker_name(service, owner): (owner, breaker.snapshot())
            for (owner, service), breaker in self._breakers.items()
        }
        return dict(sorted(named.items()))

"""CircuitBreakerRegistry and the dashboard's breaker rows: one entry per owner and dependency."""

from __future__ import annotations

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.resilience import AsyncCircuitBreaker
from omnibase_infra.resilience.breaker.registry import CircuitBreakerRegistry, breaker_name
from omnibase_infra.resilience.breaker.rules import CLOSED, OPEN
from omnibase_infra.runtime.dashboard.metrics_view import read_metrics


def _breaker(service: str, node: str) -> AsyncCircuitBreaker:
    return AsyncCircuitBreaker(service, EnumInfraTransportType.VAULT, threshold=1, node=node)


def test_two_owners_of_one_dependency_are_both_kept() -> None:
    """Two effects whose breakers guard one service name are two entries, each with its state."""
    registry = CircuitBreakerRegistry()
    first = _breaker("unit-shared-vault", "node_unit_a_effect")
    second = _breaker("unit-shared-vault", "node_unit_b_effect")
    registry.register("node_unit_a_effect", first)
    registry.register("node_unit_b_effect", second)
    registry.register("node_unit_a_effect", _breaker("unit-shared-vault", "node_unit_a_effect"))
    second.on_failure()
    snapshots = registry.snapshots()
    assert {name: (owner, s.state) for name, (owner, s) in snapshots.items()} == {
        "unit-shared-vault (node_unit_a_effect)": ("node_unit_a_effect", CLOSED),
        "unit-shared-vault (node_unit_b_effect)": ("node_unit_b_effect", OPEN),
    }


def test_the_dashboard_lists_each_breaker_of_a_shared_dependency() -> None:
    """The dashboard's breaker rows (from /metrics' registry) keep both effects' breakers."""
    _breaker("unit-dash-vault", "node_unit_c_effect").on_failure()
    _breaker("unit-dash-vault", "node_unit_d_effect")
    breakers = read_metrics().breakers
    assert breakers["unit-dash-vault (node_unit_c_effect)"] == "open"
    assert breakers["unit-dash-vault (node_unit_d_effect)"] == "closed"


def test_a_breaker_named_after_its_node_or_with_none_is_named_by_its_dependency() -> None:
    """The node is added to the name only when there is one and it differs."""
    assert breaker_name("node_x_effect", "node_x_effect") == "node_x_effect"
    assert breaker_name("postgres", "") == "postgres"
    assert breaker_name("webhook:orders", "node_webhook_effect") == (
        "webhook:orders (node_webhook_effect)"
    )

"""The local catalogue's memory follows what it holds, not how many changes it has seen: the
timer heap drops stale deadlines, and a name's index goes with its last instance."""

from __future__ import annotations

from omnibase_infra.handlers.discovery import (
    EnumCheckStatus,
    ModelDiscoveryCheck,
    ModelServiceRegistration,
)
from omnibase_infra.handlers.discovery.local_catalog import DiscoveryLocalCatalog
from omnibase_infra.testing import ManualClock


def _service(number: int) -> ModelServiceRegistration:
    return ModelServiceRegistration(
        service_id=f"svc-{number}",
        name=f"name-{number}",
        checks=(
            ModelDiscoveryCheck(
                check_id=f"beat-{number}", ttl_seconds=90, deregister_critical_after_seconds=180
            ),
        ),
    )


async def test_ttl_passes_and_removals_leave_no_stale_timers_behind() -> None:
    """Ten thousand TTL passes on one check and a thousand removed services leave the timer
    heap within a few entries per live check, and the live check still expires on time."""
    clock = ManualClock()
    catalog = DiscoveryLocalCatalog(clock=clock)
    catalog.register(_service(0))
    for _ in range(10_000):
        catalog.update_ttl("beat-0", EnumCheckStatus.PASSING, "")
    for number in range(1, 1001):
        catalog.register(_service(number))
        catalog.deregister(f"svc-{number}")
    assert len(catalog._timers.heap) <= 4 * 1 + 64  # the compaction floor for one check
    clock.advance(91)
    (view,) = catalog.services("name-0")
    assert not view.passing
    await catalog.close()


async def test_a_names_index_goes_with_its_last_instance_and_never_moves_back() -> None:
    """Once the last instance of a name is removed its own index is forgotten, and reading it
    gives an index no lower than the removal's (a blocked reader still wakes)."""
    catalog = DiscoveryLocalCatalog(clock=ManualClock())
    for number in range(1000):
        catalog.register(_service(number))
        before = catalog.service_index(f"name-{number}")
        catalog.deregister(f"svc-{number}")
        assert catalog.service_index(f"name-{number}") > before
    assert catalog._service_index == {}
    shared = [
        ModelServiceRegistration(service_id=f"web-{n}", name="web", checks=()) for n in range(2)
    ]
    for registration in shared:
        catalog.register(registration)
    catalog.deregister("web-0")
    assert catalog.service_index("web") == catalog.catalog_index  # web-1 still carries it
    assert "web" in catalog._service_index
    await catalog.close()

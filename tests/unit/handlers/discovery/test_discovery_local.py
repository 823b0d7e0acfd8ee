"""The local discovery backend's clock-driven behaviour, on virtual time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from omnibase_infra.handlers.discovery import (
    EnumCheckStatus,
    ModelBlockingQuery,
    ModelDiscoveryCheck,
    ModelServiceRegistration,
)
from omnibase_infra.handlers.discovery.handler_discovery_local import HandlerDiscoveryLocal
from omnibase_infra.testing import ManualClock


@pytest_asyncio.fixture
async def clock_and_local() -> AsyncIterator[tuple[ManualClock, HandlerDiscoveryLocal]]:
    """A local backend on a manual clock."""
    clock = ManualClock()
    local = HandlerDiscoveryLocal(clock=clock)
    await local.start()
    try:
        yield clock, local
    finally:
        await local.close()


def _service(ttl: float, *, reap_after: float | None = None) -> ModelServiceRegistration:
    return ModelServiceRegistration(
        service_id="web-1",
        name="web",
        checks=(
            ModelDiscoveryCheck(
                check_id="beat", ttl_seconds=ttl, deregister_critical_after_seconds=reap_after
            ),
        ),
    )


async def test_a_replaced_checks_old_ttl_does_not_expire_the_new_one(
    clock_and_local: tuple[ManualClock, HandlerDiscoveryLocal],
) -> None:
    """Re-registering a check with a longer TTL cancels the old deadline (no early expiry)."""
    clock, local = clock_and_local
    await local.register_service(_service(10))
    assert await local.update_ttl_check("beat", EnumCheckStatus.PASSING)
    await local.register_service(_service(100))  # keeps passing, TTL restarts at 100 s
    clock.advance(50)
    assert (await local.healthy_instances("web")).service_ids == ("web-1",)
    clock.advance(51)
    assert (await local.healthy_instances("web")).instances == ()


async def test_reaping_is_cancelled_by_recovery(
    clock_and_local: tuple[ManualClock, HandlerDiscoveryLocal],
) -> None:
    """A check that recovers before DeregisterCriticalServiceAfter restarts the count next time."""
    clock, local = clock_and_local
    await local.register_service(_service(1000, reap_after=60))  # starts critical
    clock.advance(50)
    assert await local.update_ttl_check("beat", EnumCheckStatus.PASSING)
    clock.advance(50)  # 100 s after registration, but critical for only 50 of them
    assert (await local.list_instances("web")).service_ids == ("web-1",)
    assert await local.update_ttl_check("beat", EnumCheckStatus.CRITICAL)
    clock.advance(59)
    assert (await local.list_instances("web")).service_ids == ("web-1",)
    clock.advance(2)
    assert (await local.list_instances("web")).instances == ()
    assert await local.update_ttl_check("beat", EnumCheckStatus.PASSING) is False


async def test_idempotent_registration_does_not_move_the_index(
    clock_and_local: tuple[ManualClock, HandlerDiscoveryLocal],
) -> None:
    """Registering an identical definition again changes nothing a watcher would see."""
    _, local = clock_and_local
    await local.register_service(_service(30))
    before = await local.list_instances("web")
    await local.register_service(_service(30))
    assert (await local.list_instances("web")).index == before.index
    # The same status again is not a change either.
    assert await local.update_ttl_check("beat", EnumCheckStatus.PASSING, "ok")
    passing = await local.list_instances("web")
    assert await local.update_ttl_check("beat", EnumCheckStatus.PASSING, "ok")
    assert (await local.list_instances("web")).index == passing.index


async def test_close_releases_blocked_reads(
    clock_and_local: tuple[ManualClock, HandlerDiscoveryLocal],
) -> None:
    """Closing the backend returns every blocked read instead of leaving it hanging."""
    _, local = clock_and_local
    before = await local.healthy_instances("web")
    waiting = asyncio.create_task(
        local.healthy_instances(
            "web", blocking=ModelBlockingQuery(index=before.index, wait_seconds=600)
        )
    )
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await local.close()
    assert (await asyncio.wait_for(waiting, 5)).instances == ()


async def test_a_check_id_taken_by_another_service_moves_to_it(
    clock_and_local: tuple[ManualClock, HandlerDiscoveryLocal],
) -> None:
    """Check ids are agent-wide: reusing one moves the check; the first service loses it."""
    _, local = clock_and_local
    shared = (ModelDiscoveryCheck(check_id="shared", ttl_seconds=30),)
    await local.register_service(ModelServiceRegistration(service_id="a", name="x", checks=shared))
    await local.register_service(ModelServiceRegistration(service_id="b", name="x", checks=shared))
    assert await local.update_ttl_check("shared", EnumCheckStatus.PASSING)
    # "a" has no check left (healthy by default), "b" owns the passing one.
    assert (await local.healthy_instances("x")).service_ids == ("a", "b")
    assert await local.deregister_service("a")
    assert (await local.healthy_instances("x")).service_ids == ("b",)
    assert await local.update_ttl_check("shared", EnumCheckStatus.CRITICAL)
    assert (await local.healthy_instances("x")).instances == ()

"""One behavioural suite for ``ProtocolServiceDiscovery``, run against every backend.

Backends: ``HandlerConsul`` against the fake Consul agent (real HTTP), the in-process local
backend, and ``HandlerConsul`` against a real agent when ``CONSUL_HTTP_ADDR`` is set. Time moves
through a manual clock where the backend allows it; against a real agent the suite sleeps.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from omnibase_infra.errors import RuntimeHostError
from omnibase_infra.handlers.consul.handler_consul import HandlerConsul
from omnibase_infra.handlers.consul.model_consul_settings import ModelConsulSettings
from omnibase_infra.handlers.discovery import (
    EnumCheckStatus,
    ModelBlockingQuery,
    ModelDiscoveryCheck,
    ModelServiceInstances,
    ModelServiceRegistration,
)
from omnibase_infra.handlers.discovery.handler_discovery_local import HandlerDiscoveryLocal
from omnibase_infra.handlers.discovery.protocol_service_discovery import ProtocolServiceDiscovery
from omnibase_infra.handlers.protocol_infra_handler import ProtocolInfraHandler
from omnibase_infra.testing import AsgiServerThread, FakeConsulAgent, ManualClock

pytestmark = pytest.mark.integration

_REAL_AGENT = os.environ.get("CONSUL_HTTP_ADDR")


@dataclass
class Backend:
    """A discovery backend under test, with a way to move its time and a private namespace."""

    name: str
    discovery: ProtocolServiceDiscovery
    advance: Callable[[float], Awaitable[None]]
    ttl: float
    prefix: str
    virtual_time: bool

    def service(self, suffix: str = "svc") -> str:
        """A service name no other test uses."""
        return f"{self.prefix}-{suffix}"

    def key(self, suffix: str) -> str:
        """A KV key no other test uses."""
        return f"{self.prefix}/{suffix}"


def _manual_advance(clock: ManualClock) -> Callable[[float], Awaitable[None]]:
    async def advance(seconds: float) -> None:
        clock.advance(seconds)

    return advance


async def _real_advance(seconds: float) -> None:
    await asyncio.sleep(seconds)


@pytest_asyncio.fixture(params=["consul-fake", "local", "consul-real"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """Each backend in turn; the real agent only when CONSUL_HTTP_ADDR names one."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    if request.param == "local":
        clock = ManualClock()
        local = HandlerDiscoveryLocal(clock=clock)
        await local.start()
        try:
            yield Backend("local", local, _manual_advance(clock), 10.0, prefix, True)
        finally:
            await local.close()
    elif request.param == "consul-fake":
        clock = ManualClock()
        async with FakeConsulAgent(clock=clock) as agent:
            handler = HandlerConsul(ModelConsulSettings(base_url=agent.base_url))
            await handler.start()
            try:
                yield Backend("consul-fake", handler, _manual_advance(clock), 10.0, prefix, True)
            finally:
                await handler.close()
    else:
        if not _REAL_AGENT:
            pytest.skip("CONSUL_HTTP_ADDR is not set: no real Consul agent to run against")
        handler = HandlerConsul(ModelConsulSettings.from_env())
        await handler.start()
        try:
            yield Backend("consul-real", handler, _real_advance, 2.0, prefix, False)
        finally:
            await _cleanup_real(handler, prefix)
            await handler.close()


async def _cleanup_real(handler: HandlerConsul, prefix: str) -> None:
    """Remove what a test left on a shared real agent."""
    catalog = await handler.list_services()
    for name in catalog.services:
        if name.startswith(prefix):
            for instance in (await handler.list_instances(name)).instances:
                await handler.deregister_service(instance.service_id)
    for entry in await handler.kv_list(f"{prefix}/"):
        await handler.kv_delete(entry.key)


def _ttl_service(
    backend: Backend,
    service_id: str,
    name: str,
    *,
    status: EnumCheckStatus | None = None,
    tags: tuple[str, ...] = (),
    port: int = 8080,
) -> ModelServiceRegistration:
    return ModelServiceRegistration(
        service_id=service_id,
        name=name,
        address="10.1.2.3",
        port=port,
        tags=tags,
        meta={"node_kind": "effect", "version": "1.0.0"},
        checks=(ModelDiscoveryCheck(ttl_seconds=backend.ttl, initial_status=status),),
    )


async def _until(
    read: Callable[[ModelBlockingQuery | None], Awaitable[ModelServiceInstances]],
    done: Callable[[ModelServiceInstances], bool],
    *,
    limit: float = 20.0,
) -> ModelServiceInstances:
    """Re-read with blocking queries until ``done`` holds (no sleeping and polling)."""
    async with asyncio.timeout(limit):
        result = await read(None)
        while not done(result):
            result = await read(ModelBlockingQuery(index=result.index, wait_seconds=5))
        return result


# ---- registration and health -----------------------------------------------------------


async def test_backend_is_an_infra_handler(backend: Backend) -> None:
    """Every backend is a ProtocolInfraHandler whose ping reports healthy."""
    assert isinstance(backend.discovery, ProtocolServiceDiscovery)
    assert isinstance(backend.discovery, ProtocolInfraHandler)
    assert (await backend.discovery.ping()).healthy


async def test_ttl_check_starts_critical_and_passes_on_update(backend: Backend) -> None:
    """A new TTL check is critical (instance listed, not healthy) until the service passes it."""
    d, name = backend.discovery, backend.service()
    await d.register_service(_ttl_service(backend, f"{name}-1", name, tags=("blue",)))

    assert (await d.healthy_instances(name)).instances == ()
    assert (await d.list_instances(name)).service_ids == (f"{name}-1",)

    assert await d.update_ttl_check(f"service:{name}-1", EnumCheckStatus.PASSING, "ok")
    healthy = await d.healthy_instances(name)
    assert healthy.service_ids == (f"{name}-1",)
    instance = healthy.instances[0]
    assert (instance.service_name, instance.address, instance.port) == (name, "10.1.2.3", 8080)
    assert instance.tags == ("blue",)
    assert instance.meta == {"node_kind": "effect", "version": "1.0.0"}


async def test_initial_passing_status_is_healthy_at_once(backend: Backend) -> None:
    """A check registered with status passing makes the instance healthy without an update."""
    d, name = backend.discovery, backend.service()
    await d.register_service(
        _ttl_service(backend, f"{name}-1", name, status=EnumCheckStatus.PASSING)
    )
    assert (await d.healthy_instances(name)).service_ids == (f"{name}-1",)


async def test_warning_and_critical_are_not_healthy(backend: Backend) -> None:
    """Health reads are passing-only: a warning or failed check hides the instance."""
    d, name = backend.discovery, backend.service()
    await d.register_service(
        _ttl_service(backend, f"{name}-1", name, status=EnumCheckStatus.PASSING)
    )
    check = f"service:{name}-1"

    assert await d.update_ttl_check(check, EnumCheckStatus.WARNING, "slow")
    assert (await d.healthy_instances(name)).instances == ()
    assert await d.update_ttl_check(check, EnumCheckStatus.PASSING)
    assert (await d.healthy_instances(name)).service_ids == (f"{name}-1",)
    assert await d.update_ttl_check(check, EnumCheckStatus.CRITICAL, "down")
    assert (await d.healthy_instances(name)).instances == ()
    assert (await d.list_instances(name)).service_ids == (f"{name}-1",)


async def test_ttl_expiry_makes_the_instance_unhealthy(backend: Backend) -> None:
    """A passing TTL check that is not renewed within its TTL goes critical; renewing revives it."""
    d, name = backend.discovery, backend.service()
    await d.register_service(_ttl_service(backend, f"{name}-1", name))
    assert await d.update_ttl_check(f"service:{name}-1", EnumCheckStatus.PASSING)
    assert (await d.healthy_instances(name)).service_ids == (f"{name}-1",)

    await backend.advance(backend.ttl * 0.5)
    assert await d.update_ttl_check(f"service:{name}-1", EnumCheckStatus.PASSING)
    await backend.advance(backend.ttl * 0.6)
    # Renewed halfway, so a full TTL has not passed since the last update.
    assert (await d.healthy_instances(name)).service_ids == (f"{name}-1",)

    await backend.advance(backend.ttl * 0.6)
    assert (await d.healthy_instances(name)).instances == ()
    assert (await d.list_instances(name)).service_ids == (f"{name}-1",)
    assert await d.update_ttl_check(f"service:{name}-1", EnumCheckStatus.PASSING)
    assert (await d.healthy_instances(name)).service_ids == (f"{name}-1",)


async def test_every_check_must_pass(backend: Backend) -> None:
    """With two checks (default ids service:<id>:1 and :2) both must pass for health."""
    d, name = backend.discovery, backend.service()
    registration = ModelServiceRegistration(
        service_id=f"{name}-1",
        name=name,
        checks=(
            ModelDiscoveryCheck(ttl_seconds=backend.ttl),
            ModelDiscoveryCheck(ttl_seconds=backend.ttl),
        ),
    )
    assert registration.check_ids == (f"service:{name}-1:1", f"service:{name}-1:2")
    await d.register_service(registration)

    assert await d.update_ttl_check(f"service:{name}-1:1", EnumCheckStatus.PASSING)
    assert (await d.healthy_instances(name)).instances == ()
    assert await d.update_ttl_check(f"service:{name}-1:2", EnumCheckStatus.PASSING)
    assert (await d.healthy_instances(name)).service_ids == (f"{name}-1",)


async def test_reregistration_replaces_the_instance_and_keeps_check_status(
    backend: Backend,
) -> None:
    """Registering the same id again updates its fields; a surviving check keeps its status."""
    d, name = backend.discovery, backend.service()
    await d.register_service(_ttl_service(backend, f"{name}-1", name, tags=("v1",)))
    assert await d.update_ttl_check(f"service:{name}-1", EnumCheckStatus.PASSING)

    await d.register_service(_ttl_service(backend, f"{name}-1", name, tags=("v2",), port=9090))
    healthy = await d.healthy_instances(name)
    assert healthy.service_ids == (f"{name}-1",)
    assert (healthy.instances[0].tags, healthy.instances[0].port) == (("v2",), 9090)


async def test_deregister_removes_the_instance(backend: Backend) -> None:
    """Deregistering removes the instance and its checks; a second deregister reports False."""
    d, name = backend.discovery, backend.service()
    await d.register_service(
        _ttl_service(backend, f"{name}-1", name, status=EnumCheckStatus.PASSING)
    )
    await d.register_service(
        _ttl_service(backend, f"{name}-2", name, status=EnumCheckStatus.PASSING)
    )

    assert await d.deregister_service(f"{name}-1") is True
    assert (await d.list_instances(name)).service_ids == (f"{name}-2",)
    assert (await d.healthy_instances(name)).service_ids == (f"{name}-2",)
    assert await d.deregister_service(f"{name}-1") is False
    assert await d.update_ttl_check(f"service:{name}-1", EnumCheckStatus.PASSING) is False


async def test_unknown_check_update_reports_false(backend: Backend) -> None:
    """Updating a check nobody registered reports False (so a caller knows to re-register)."""
    assert (
        await backend.discovery.update_ttl_check(
            f"service:{backend.prefix}-ghost", EnumCheckStatus.PASSING
        )
        is False
    )


async def test_tag_filter_and_catalog(backend: Backend) -> None:
    """Health reads filter by tag; the catalog lists each service with its instances' tags."""
    d = backend.discovery
    api, db = backend.service("api"), backend.service("db")
    passing = EnumCheckStatus.PASSING
    await d.register_service(_ttl_service(backend, f"{api}-1", api, status=passing, tags=("blue",)))
    await d.register_service(
        _ttl_service(backend, f"{api}-2", api, status=passing, tags=("green", "canary"))
    )
    await d.register_service(_ttl_service(backend, f"{db}-1", db, status=passing))

    assert (await d.healthy_instances(api, tag="green")).service_ids == (f"{api}-2",)
    assert (await d.healthy_instances(api)).service_ids == (f"{api}-1", f"{api}-2")
    services = (await d.list_services()).services
    assert services[api] == ("blue", "canary", "green")
    assert services[db] == ()
    assert (await d.list_instances(backend.service("none"))).instances == ()


async def test_http_check_is_polled(backend: Backend) -> None:
    """An HTTP check follows its target: 2xx healthy, 429 warning (unhealthy), 5xx unhealthy."""
    state = {"status": 200}

    async def health(_: Request) -> PlainTextResponse:
        return PlainTextResponse("state", status_code=state["status"])

    target = AsgiServerThread(Starlette(routes=[Route("/health", health)]), name="check-target")
    await asyncio.to_thread(target.start)
    try:
        d, name = backend.discovery, backend.service()
        await d.register_service(
            ModelServiceRegistration(
                service_id=f"{name}-1",
                name=name,
                checks=(
                    ModelDiscoveryCheck(
                        http_url=f"{target.base_url}/health", interval_seconds=1, timeout_seconds=2
                    ),
                ),
            )
        )

        def read(blocking: ModelBlockingQuery | None) -> Awaitable[ModelServiceInstances]:
            return d.healthy_instances(name, blocking=blocking)

        await _until(read, lambda r: r.service_ids == (f"{name}-1",))
        state["status"] = 500
        await _until(read, lambda r: r.instances == ())
        state["status"] = 200
        await _until(read, lambda r: r.service_ids == (f"{name}-1",))
        state["status"] = 429
        await _until(read, lambda r: r.instances == ())
    finally:
        await asyncio.to_thread(target.stop)


async def test_status_update_of_an_http_check_is_refused(backend: Backend) -> None:
    """Passing a check that is not a TTL check raises a non-retriable error."""
    d, name = backend.discovery, backend.service()
    await d.register_service(
        ModelServiceRegistration(
            service_id=f"{name}-1",
            name=name,
            checks=(
                ModelDiscoveryCheck(
                    check_id=f"{name}-http", http_url="http://127.0.0.1:9/", interval_seconds=30
                ),
            ),
        )
    )
    with pytest.raises(RuntimeHostError) as caught:
        await d.update_ttl_check(f"{name}-http", EnumCheckStatus.PASSING)
    assert caught.value.retriable is False


async def test_critical_service_is_reaped(backend: Backend) -> None:
    """A service whose check stays critical past DeregisterCriticalServiceAfter is removed."""
    if not backend.virtual_time:
        pytest.skip("a real agent reaps after 60-90 s of wall time; run with virtual time only")
    d, name = backend.discovery, backend.service()
    await d.register_service(
        ModelServiceRegistration(
            service_id=f"{name}-1",
            name=name,
            checks=(
                ModelDiscoveryCheck(ttl_seconds=backend.ttl, deregister_critical_after_seconds=60),
            ),
        )
    )
    await d.register_service(_ttl_service(backend, f"{name}-2", name))
    await backend.advance(30)
    assert (await d.list_instances(name)).service_ids == (f"{name}-1", f"{name}-2")
    await backend.advance(31)
    # Only the instance that asked to be reaped is gone.
    assert (await d.list_instances(name)).service_ids == (f"{name}-2",)


# ---- blocking queries ------------------------------------------------------------------


async def test_blocking_health_read_returns_on_change(backend: Backend) -> None:
    """A blocking health read waits while nothing changes, then returns the change (new index)."""
    d, name = backend.discovery, backend.service()
    await d.register_service(_ttl_service(backend, f"{name}-1", name))
    before = await d.healthy_instances(name)
    assert before.instances == ()

    waiting = asyncio.create_task(
        d.healthy_instances(name, blocking=ModelBlockingQuery(index=before.index, wait_seconds=30))
    )
    await asyncio.sleep(0.2)
    assert not waiting.done()
    assert await d.update_ttl_check(f"service:{name}-1", EnumCheckStatus.PASSING)
    after = await asyncio.wait_for(waiting, 15)
    assert after.service_ids == (f"{name}-1",)
    assert after.index > before.index


async def test_blocking_read_returns_unchanged_when_the_wait_elapses(backend: Backend) -> None:
    """With no change, a blocking read comes back after its wait with the same data and index."""
    d, name = backend.discovery, backend.service()
    await d.register_service(
        _ttl_service(backend, f"{name}-1", name, status=EnumCheckStatus.PASSING)
    )
    before = await d.healthy_instances(name)
    after = await asyncio.wait_for(
        d.healthy_instances(
            name, blocking=ModelBlockingQuery(index=before.index, wait_seconds=0.3)
        ),
        15,
    )
    assert after == before


async def test_blocking_read_wakes_on_ttl_expiry(backend: Backend) -> None:
    """A blocked health read returns when the instance's TTL expires."""
    d, name = backend.discovery, backend.service()
    await d.register_service(_ttl_service(backend, f"{name}-1", name))
    assert await d.update_ttl_check(f"service:{name}-1", EnumCheckStatus.PASSING)
    before = await d.healthy_instances(name)
    assert before.service_ids == (f"{name}-1",)

    waiting = asyncio.create_task(
        d.healthy_instances(name, blocking=ModelBlockingQuery(index=before.index, wait_seconds=30))
    )
    await asyncio.sleep(0.1)
    await backend.advance(backend.ttl * 1.5)
    # With virtual time the expiry is applied by the next request to the backend.
    await d.list_services()
    after = await asyncio.wait_for(waiting, 20)
    assert after.instances == ()
    assert after.index > before.index


async def test_blocking_catalog_read_returns_on_registration(backend: Backend) -> None:
    """A blocking catalog read returns when a new service registers."""
    d, name = backend.discovery, backend.service()
    before = await d.list_services()
    waiting = asyncio.create_task(
        d.list_services(blocking=ModelBlockingQuery(index=before.index, wait_seconds=30))
    )
    await asyncio.sleep(0.1)
    await d.register_service(_ttl_service(backend, f"{name}-1", name))
    after = await asyncio.wait_for(waiting, 15)
    assert name in after.services
    assert after.index > before.index


async def test_blocking_kv_read_returns_on_write(backend: Backend) -> None:
    """A blocking read of a key returns when the key is written, with its new value."""
    d, key = backend.discovery, backend.key("watched")
    before = await d.kv_get(key)
    assert before.entry is None
    waiting = asyncio.create_task(
        d.kv_get(key, blocking=ModelBlockingQuery(index=before.index, wait_seconds=30))
    )
    await asyncio.sleep(0.1)
    assert await d.kv_put(key, b"v1")
    after = await asyncio.wait_for(waiting, 15)
    assert after.entry is not None
    assert after.entry.value == b"v1"
    assert after.index > before.index


# ---- key/value -------------------------------------------------------------------------


async def test_kv_round_trip(backend: Backend) -> None:
    """Bytes (binary, empty) and flags come back as written; a missing key is no entry."""
    d = backend.discovery
    binary = bytes(range(256))
    assert await d.kv_put(backend.key("bin"), binary, flags=42)
    assert await d.kv_put(backend.key("empty"), b"")

    entry = (await d.kv_get(backend.key("bin"))).entry
    assert entry is not None
    assert (entry.key, entry.value, entry.flags) == (backend.key("bin"), binary, 42)
    assert entry.create_index == entry.modify_index
    empty = (await d.kv_get(backend.key("empty"))).entry
    assert empty is not None
    assert empty.value == b""
    assert (await d.kv_get(backend.key("missing"))).entry is None


async def test_kv_check_and_set(backend: Backend) -> None:
    """cas=0 creates only when absent; cas=<modify index> wins once; a stale index loses."""
    d, key = backend.discovery, backend.key("cas")
    assert await d.kv_put(key, b"first", cas=0) is True
    assert await d.kv_put(key, b"again", cas=0) is False
    entry = (await d.kv_get(key)).entry
    assert entry is not None
    assert entry.value == b"first"

    assert await d.kv_put(key, b"second", cas=entry.modify_index) is True
    assert await d.kv_put(key, b"stale", cas=entry.modify_index) is False
    updated = (await d.kv_get(key)).entry
    assert updated is not None
    assert updated.value == b"second"
    assert updated.modify_index > entry.modify_index
    assert updated.create_index == entry.create_index
    assert await d.kv_put(backend.key("never"), b"x", cas=entry.modify_index) is False
    assert (await d.kv_get(backend.key("never"))).entry is None


async def test_kv_delete(backend: Backend) -> None:
    """Delete removes a key (absent is fine); with a stale cas it keeps the key."""
    d, key = backend.discovery, backend.key("del")
    assert await d.kv_put(key, b"x")
    entry = (await d.kv_get(key)).entry
    assert entry is not None
    assert await d.kv_delete(key, cas=entry.modify_index + 1000) is False
    assert (await d.kv_get(key)).entry is not None
    assert await d.kv_delete(key, cas=entry.modify_index) is True
    assert (await d.kv_get(key)).entry is None
    assert await d.kv_delete(key) is True


async def test_kv_list_by_prefix(backend: Backend) -> None:
    """Listing a prefix returns exactly its keys, ordered; an empty prefix match is empty."""
    d = backend.discovery
    for suffix in ("nodes/b", "nodes/a", "nodes/c/deep", "other"):
        assert await d.kv_put(backend.key(suffix), suffix.encode())
    listed = await d.kv_list(backend.key("nodes/"))
    assert [e.key for e in listed] == [
        backend.key("nodes/a"),
        backend.key("nodes/b"),
        backend.key("nodes/c/deep"),
    ]
    assert listed[0].value == b"nodes/a"
    assert await d.kv_list(backend.key("nothing/")) == ()


# ---- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "label"),
    [
        (lambda d: d.deregister_service("a/b"), "service id with a slash"),
        (lambda d: d.deregister_service(""), "empty service id"),
        (lambda d: d.update_ttl_check("bad id", EnumCheckStatus.PASSING), "check id with space"),
        (lambda d: d.healthy_instances("no/slash"), "service name with a slash"),
        (lambda d: d.healthy_instances("svc", tag="two words"), "tag with a space"),
        (lambda d: d.kv_get("/leading"), "key with a leading slash"),
        (lambda d: d.kv_put("k\x00", b"x"), "key with a control character"),
        (lambda d: d.kv_put("k", b"x" * (512 * 1024 + 1)), "value over 512 KiB"),
        (lambda d: d.kv_put("k", b"x", cas=-1), "negative cas"),
        (lambda d: d.kv_list("/x"), "prefix with a leading slash"),
    ],
)
async def test_bad_arguments_fail_before_any_io(
    backend: Backend,
    call: Callable[[ProtocolServiceDiscovery], Awaitable[object]],
    label: str,
) -> None:
    """Bad ids, names, keys and values raise a non-retriable validation error."""
    with pytest.raises(RuntimeHostError) as caught:
        await call(backend.discovery)
    assert caught.value.retriable is False, label

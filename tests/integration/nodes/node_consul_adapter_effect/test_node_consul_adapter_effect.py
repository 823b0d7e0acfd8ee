"""node_consul_adapter_effect through the runtime against the fake Consul agent (and a real
agent when ``CONSUL_HTTP_ADDR`` names one): registration, health, catalog and KV commands in,
results and failures out as evt topics, blocking queries answered when something changes."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from omnibase_infra.handlers.consul.handler_consul import HandlerConsul
from omnibase_infra.handlers.consul.model_consul_settings import ModelConsulSettings
from omnibase_infra.handlers.discovery.protocol_service_discovery import ProtocolServiceDiscovery
from omnibase_infra.nodes.node_consul_adapter_effect.model_consul_command import (
    ModelConsulCommand,
)
from omnibase_infra.testing.adapter_host import AdapterHarness, adapter_host
from omnibase_infra.testing.manual_clock import ManualClock
from omnibase_infra.testing.ports import free_port
from omnibase_infra.testing.servers.fake_consul import FakeConsulAgent

pytestmark = pytest.mark.integration

PACKAGED = Path(__file__).parents[4] / "src/omnibase_infra/nodes/node_consul_adapter_effect"
CMD = "onex.cmd.consul-adapter.action.v1"
COMPLETED = "onex.evt.consul-adapter.action-completed.v1"
FAILED = "onex.evt.consul-adapter.action-failed.v1"


@pytest_asyncio.fixture(params=["consul-fake", "consul-real"])
async def consul(request: pytest.FixtureRequest) -> AsyncIterator[HandlerConsul]:
    """HandlerConsul on the fake agent, or on a real agent when CONSUL_HTTP_ADDR is set."""
    if request.param == "consul-fake":
        async with FakeConsulAgent(clock=ManualClock()) as agent:
            handler = HandlerConsul(ModelConsulSettings(base_url=agent.base_url))
            await handler.start()
            try:
                yield handler
            finally:
                await handler.close()
        return
    if not os.environ.get("CONSUL_HTTP_ADDR"):
        pytest.skip("CONSUL_HTTP_ADDR is not set: no real Consul agent to run against")
    handler = HandlerConsul(ModelConsulSettings.from_env())
    await handler.start()
    try:
        yield handler
    finally:
        await handler.close()


@pytest_asyncio.fixture
async def consul_node(consul: HandlerConsul) -> AsyncIterator[AdapterHarness]:
    """The packaged Consul adapter on a host, watching its result topics."""
    async with adapter_host([PACKAGED], services={ProtocolServiceDiscovery: consul}) as harness:
        await harness.watch(COMPLETED, FAILED)
        yield harness


def _command(**fields: object) -> ModelConsulCommand:
    return ModelConsulCommand.model_validate(fields)


def _name() -> str:
    return f"adapter-test-{uuid.uuid4().hex[:10]}"


async def test_register_query_and_deregister_a_service(consul_node: AdapterHarness) -> None:
    """A registered service is in the catalog and among its instances (healthy: it has no
    check); after deregistering it, it is gone."""
    name = _name()
    registration = {"service_id": f"{name}-1", "name": name, "address": "10.0.0.7", "port": 80}
    done = await consul_node.request(CMD, _command(action="register", registration=registration))
    assert done.topic == COMPLETED
    healthy = await consul_node.request(
        CMD, _command(action="healthy_instances", service_name=name)
    )
    (instance,) = healthy.get("instances")
    assert (instance["service_id"], instance["address"], instance["port"]) == (
        f"{name}-1",
        "10.0.0.7",
        80,
    )
    catalog = await consul_node.request(CMD, _command(action="list_services"))
    assert name in catalog.get("services")
    gone = await consul_node.request(CMD, _command(action="deregister", service_id=f"{name}-1"))
    assert gone.get("changed") is True
    after = await consul_node.request(CMD, _command(action="list_instances", service_name=name))
    assert after.get("instances") == []


async def test_a_ttl_check_update_changes_health(consul_node: AdapterHarness) -> None:
    """A service with a TTL check is unhealthy until its check is set passing by command."""
    name = _name()
    registration = {
        "service_id": f"{name}-1",
        "name": name,
        "address": "10.0.0.8",
        "checks": [{"check_id": f"{name}-ttl", "ttl_seconds": 60, "initial_status": "critical"}],
    }
    await consul_node.request(CMD, _command(action="register", registration=registration))
    before = await consul_node.request(CMD, _command(action="healthy_instances", service_name=name))
    assert before.get("instances") == []
    updated = await consul_node.request(
        CMD, _command(action="update_check", check_id=f"{name}-ttl", check_status="passing")
    )
    assert updated.get("changed") is True
    after = await consul_node.request(CMD, _command(action="healthy_instances", service_name=name))
    assert len(after.get("instances")) == 1
    await consul_node.request(CMD, _command(action="deregister", service_id=f"{name}-1"))


async def test_kv_put_get_list_delete_and_cas(consul_node: AdapterHarness) -> None:
    """KV by command: a put, a get of its value, a list under its prefix, a stale-cas put that
    does not change it, and a delete."""
    prefix = f"onex/{_name()}"
    key = f"{prefix}/k"
    put = await consul_node.request(CMD, _command(action="kv_put", key=key, value="v1"))
    assert put.get("changed") is True
    got = await consul_node.request(CMD, _command(action="kv_get", key=key))
    (entry,) = got.get("entries")
    assert entry["value"] == "v1"
    stale = await consul_node.request(CMD, _command(action="kv_put", key=key, value="v2", cas=1))
    assert stale.get("changed") is False
    listed = await consul_node.request(CMD, _command(action="kv_list", key=f"{prefix}/"))
    assert [e["key"] for e in listed.get("entries")] == [key]
    await consul_node.request(CMD, _command(action="kv_delete", key=key))
    gone = await consul_node.request(CMD, _command(action="kv_get", key=key))
    assert gone.get("entries") == []


async def test_a_blocking_kv_query_answers_when_the_key_changes(
    consul_node: AdapterHarness,
) -> None:
    """A blocking get at the key's current index answers only once another command changed
    the key, with the new value and a higher index."""
    key = f"onex/{_name()}/watched"
    await consul_node.request(CMD, _command(action="kv_put", key=key, value="before"))
    first = await consul_node.request(CMD, _command(action="kv_get", key=key))
    index = first.get("index")
    assert isinstance(index, int)
    blocked = asyncio.create_task(
        consul_node.request(
            CMD,
            _command(action="kv_get", key=key, blocking={"index": index, "wait_seconds": 20}),
            key=b"watcher",
        )
    )
    await asyncio.sleep(0.3)
    assert not blocked.done()
    await consul_node.request(CMD, _command(action="kv_put", key=key, value="after"), key=b"w")
    answered = await blocked
    (entry,) = answered.get("entries")
    assert entry["value"] == "after"
    assert answered.get("index") > index


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"action": "kv_get", "key": "other/k"}, "key is outside the prefixes"),
        ({"action": "update_check", "check_id": "no-such", "check_status": "passing"}, None),
    ],
    ids=["key outside the prefixes", "unknown check"],
)
async def test_a_refused_or_missing_target_is_answered(
    consul_node: AdapterHarness, fields: dict[str, object], reason: str | None
) -> None:
    """A key outside the contract's prefixes is a failure event; a check that does not exist
    is answered as not changed."""
    reply = await consul_node.request(CMD, _command(**fields))
    if reason is None:
        assert reply.topic == COMPLETED
        assert reply.get("changed") is False
    else:
        assert reply.topic == FAILED
        assert reason in str(reply.payload)


async def test_an_unreachable_agent_is_retried_then_dead_lettered() -> None:
    """With no agent listening, the command is retried under the contract's policy and then
    dead-lettered as a connection failure."""
    handler = HandlerConsul(
        ModelConsulSettings(base_url=f"http://127.0.0.1:{free_port()}", verify_on_start=False)
    )
    await handler.start()
    try:
        async with adapter_host(
            [PACKAGED], services={ProtocolServiceDiscovery: handler}
        ) as harness:
            await harness.watch(COMPLETED, FAILED)
            reply = await harness.request(CMD, _command(action="list_services"))
    finally:
        await handler.close()
    assert reply.topic.startswith("onex.dlq.")
    assert reply.dlq_error_type == "InfraConnectionError"

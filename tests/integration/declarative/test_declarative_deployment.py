"""The shipped YAML-only nodes through a runtime on the in-memory bus: a deploy command runs
the deployment workflow (plan compute in-process, apply effect under its executor), the
orchestrator publishes what the workflow declares, and the infrastructure-state FSM follows
each service and emits its intents."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID, uuid4

from runtime_support import in_memory_bus, node_config, running_host
from runtime_testnodes import DEPLOYMENT_DIR

from omnibase_infra._core import ModelEventEnvelope
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.infra_nodes import INFRA_NODES_DIR
from omnibase_infra.infra_nodes.models import ModelDeployServiceRequested
from omnibase_infra.infra_nodes.topics import (
    TOPIC_DEPLOY_SERVICE,
    TOPIC_DEPLOYMENT_FAILED,
    TOPIC_DEPLOYMENT_PLANNED,
    TOPIC_RAISE_ALERT,
    TOPIC_RECORD_INFRA_STATE,
    TOPIC_SERVICE_DEPLOYED,
)
from omnibase_infra.runtime.host import RuntimeHostProcess
from omnibase_infra.testing import eventually

_WATCHED = (
    TOPIC_DEPLOYMENT_PLANNED,
    TOPIC_SERVICE_DEPLOYED,
    TOPIC_DEPLOYMENT_FAILED,
    TOPIC_RECORD_INFRA_STATE,
    TOPIC_RAISE_ALERT,
)


class _Seen:
    """Every message on the watched topics, decoded."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str | None, dict[str, object]]] = []

    async def keep(self, message: BusMessage) -> None:
        key = None if message.key is None else message.key.decode()
        self.messages.append((message.topic, key, json.loads(message.value)))

    def on(self, topic: str, key: str) -> list[dict[str, object]]:
        return [body for t, k, body in self.messages if t == topic and k == key]

    def payloads(self, topic: str, key: str) -> list[dict[str, object]]:
        payloads: list[dict[str, object]] = []
        for body in self.on(topic, key):
            payload = body["payload"]
            assert isinstance(payload, dict)
            payloads.append(payload)
        return payloads


@asynccontextmanager
async def _deployment_runtime() -> AsyncIterator[tuple[RuntimeHostProcess, _Seen]]:
    config = node_config(contract_dirs=[str(INFRA_NODES_DIR), str(DEPLOYMENT_DIR)])
    seen = _Seen()
    async with running_host(config) as host:
        bus = in_memory_bus(host)
        for topic in _WATCHED:
            await bus.subscribe(
                topic, on_message=seen.keep, group_id="watcher", auto_offset_reset="earliest"
            )
        yield host, seen


async def _deploy(bus: EventBusInmemory, service: str, replicas: int = 4) -> UUID:
    command = ModelDeployServiceRequested(
        deployment_id=uuid4(), service=service, version="1.2.3", replicas=replicas
    )
    correlation_id = uuid4()
    envelope: ModelEventEnvelope[ModelDeployServiceRequested] = ModelEventEnvelope(
        payload=command,
        payload_type=type(command).__name__,
        correlation_id=correlation_id,
        producer="test",
    )
    await bus.publish_envelope(envelope, TOPIC_DEPLOY_SERVICE, service.encode())
    return correlation_id


def _states(seen: _Seen, service: str) -> list[tuple[object, object]]:
    """The (transition, new state) of every record-state intent about ``service``."""
    return [
        (p["transition"], p["to_state"]) for p in seen.payloads(TOPIC_RECORD_INFRA_STATE, service)
    ]


async def test_a_deployment_is_planned_applied_announced_and_followed_to_running() -> None:
    """A deploy command: the plan (rolling, batches of 3) and the outcome are published keyed
    by the service with the command's correlation id; the FSM goes deploying -> running through
    its guarded transition and emits a record-state intent per state, no alert."""
    async with _deployment_runtime() as (host, seen):
        correlation_id = await _deploy(in_memory_bus(host), "billing", replicas=4)
        await eventually(lambda: len(_states(seen, "billing")) == 2, "two states")
        planned = seen.payloads(TOPIC_DEPLOYMENT_PLANNED, "billing")
        deployed = seen.payloads(TOPIC_SERVICE_DEPLOYED, "billing")
        assert [(p["strategy"], p["batches"]) for p in planned] == [("rolling", [3, 1])]
        assert [(p["replicas_ready"], p["healthy"]) for p in deployed] == [(4, True)]
        bodies = seen.on(TOPIC_SERVICE_DEPLOYED, "billing")
        assert {b["correlation_id"] for b in bodies} == {str(correlation_id)}
        assert _states(seen, "billing") == [
            ("deployment_planned", "deploying"),
            ("deployed_healthy", "running"),
        ]
        assert seen.on(TOPIC_RAISE_ALERT, "billing") == []
        assert seen.on(TOPIC_DEPLOYMENT_FAILED, "billing") == []


async def test_an_unhealthy_deployment_leaves_the_guard_unmet_and_raises_an_alert() -> None:
    """One instance not ready: the guard ``healthy == True`` fails, the lower-priority
    transition takes the service to degraded, and an alert intent is emitted."""
    async with _deployment_runtime() as (host, seen):
        await _deploy(in_memory_bus(host), "flaky-search", replicas=2)
        await eventually(lambda: seen.on(TOPIC_RAISE_ALERT, "flaky-search"), "an alert")
        assert _states(seen, "flaky-search") == [
            ("deployment_planned", "deploying"),
            ("deployed_degraded", "degraded"),
        ]
        alert = seen.payloads(TOPIC_RAISE_ALERT, "flaky-search")[0]
        assert alert["action"] == "raise_alert"
        assert alert["entity_key"] == "flaky-search"


async def test_a_failing_effect_step_reaches_the_orchestrator_as_its_declared_failure() -> None:
    """The apply effect raises: the orchestrator publishes the step-failed event its workflow
    declares (step, node type, error type) and neither the plan nor an outcome; the FSM goes to
    failed and alerts."""
    async with _deployment_runtime() as (host, seen):
        await _deploy(in_memory_bus(host), "broken-cache")
        await eventually(lambda: seen.on(TOPIC_RAISE_ALERT, "broken-cache"), "an alert")
        failed = seen.payloads(TOPIC_DEPLOYMENT_FAILED, "broken-cache")
        assert [(f["step"], f["node_type"], f["error_type"]) for f in failed] == [
            ("node_deployment_apply_effect", "effect", "InfraConnectionError")
        ]
        assert "refused broken-cache" in str(failed[0]["reason"])
        assert seen.on(TOPIC_DEPLOYMENT_PLANNED, "broken-cache") == []
        assert seen.on(TOPIC_SERVICE_DEPLOYED, "broken-cache") == []
        assert _states(seen, "broken-cache") == [("deployment_failed", "failed")]

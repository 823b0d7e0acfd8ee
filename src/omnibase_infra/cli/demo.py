"""``onex-infra demo``: the runtime, zero configuration, registering a simulated fleet.

The runtime runs in this process on the local profile (in-memory bus, an embedded PostgreSQL
in a temporary directory, the local discovery backend), with short liveness timings. N nodes
introspect (one in the published package's payload shape), ack and heartbeat; a few crash
(stop heartbeating: stale, then expired and removed from both backends), a few shut down
(deregistered), one sends bytes that are not an envelope (dead-lettered) and one an invalid
introspection (rejected with a reason). The report says what ended where and whether that is
what should have happened.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra.event_bus.codec import JsonEnvelope
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.topics import dlq_topic_for
from omnibase_infra.nodes.node_registry_effect.storage import RegistrationStorage
from omnibase_infra.nodes.registration.client import (
    ModelNodeDescription,
    NodeFleet,
    NodeRegistrationClient,
)
from omnibase_infra.nodes.registration.topics import TOPIC_NODE_INTROSPECTION, TOPIC_NODE_REJECTED
from omnibase_infra.runtime.config import ModelRuntimeConfig, load_runtime_config
from omnibase_infra.runtime.heap import freeze_boot_heap
from omnibase_infra.runtime.host import RuntimeHostProcess
from omnibase_infra.runtime.infrastructure import build_infrastructure

__all__ = ["ModelDemoNode", "ModelDemoReport", "run_demo"]

_TYPES: tuple[Literal["effect", "compute", "reducer", "orchestrator"], ...] = (
    "effect",
    "compute",
    "reducer",
    "orchestrator",
)


class ModelDemoNode(BaseModel):
    """One simulated node at the end of the demo."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    node_id: UUID
    node_name: str
    node_type: str
    role: str
    expected_state: str
    final_state: str
    last_heartbeat_age_s: float | None = None
    storage_status: str = "-"
    discovery_status: str = "-"

    @property
    def as_expected(self) -> bool:
        """Whether the node ended where its role says it should."""
        return self.final_state == self.expected_state


class ModelDemoReport(BaseModel):
    """What happened, and whether it was what should have happened."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nodes: tuple[ModelDemoNode, ...]
    dead_lettered: int
    rejected_events: int
    outcomes: dict[str, int]
    seconds: float
    hub_port: int | None
    ok: bool
    problems: tuple[str, ...] = Field(default=())


Progress = Callable[[str, int, int], None]


def demo_config(
    data_dir: Path, *, http_port: int = 0, log_level: str = "ERROR"
) -> ModelRuntimeConfig:
    """The local profile with liveness timings short enough to watch."""
    return load_runtime_config(
        None,
        http={"port": http_port},
        postgres={"mode": "embedded", "data_dir": str(data_dir)},
        nodes={
            "registration": {
                "stale_after_seconds": 1.5,
                "expire_after_seconds": 3.0,
                "ack_timeout_seconds": 2.0,
                "tick_interval_seconds": 0.25,
            }
        },
        log_level=log_level,
    )


async def run_demo(
    nodes: int = 50,
    *,
    crash: int = 3,
    shutdown: int = 2,
    http_port: int = 0,
    progress: Progress | None = None,
    log_level: str = "ERROR",
) -> ModelDemoReport:
    """Run the demo; ``progress(phase, done, total)`` is called as it advances."""
    report = progress or (lambda phase, done, total: None)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="onex-demo-") as tmp:
        # As root PostgreSQL runs as its own user, which must reach the data directory: open
        # our own temporary directory for traversal now rather than be warned about it.
        os.chmod(tmp, 0o711)  # noqa: S103 - search only, nothing readable
        config = demo_config(Path(tmp) / "postgres", http_port=http_port, log_level=log_level)
        async with build_infrastructure(config) as infra:
            bus = EventBusInmemory(
                partitions=config.event_bus.partitions,
                in_flight_per_partition=config.event_bus.in_flight_per_partition,
            )
            host = RuntimeHostProcess(
                config,
                bus=bus,
                handlers=infra.handlers,
                services=infra.services,
                components=infra.components,
                exclude_nodes=infra.exclude_nodes,
            )
            await host.start()
            freeze_boot_heap()  # as ``onex-infra run`` does once it is up
            try:
                fleet = _fleet(bus, nodes, crash, shutdown)
                await fleet.listen()
                clients = list(fleet.nodes)
                await _register(fleet, clients, report)
                await _misbehave(bus)
                await _end_lives(clients, crash, shutdown, report)
                assert infra.postgres is not None
                storage = RegistrationStorage(infra.postgres)
                await _wait_removed(storage, clients[:crash], report)
                for client in clients:
                    await client.stop(announce=False)
                await fleet.close()
                await bus.wait_idle()
                final = await _final(storage, clients, crash, shutdown)
                outcomes = {k.value: v for k, v in host.engine.outcomes.items()}
                dead = bus.retained(dlq_topic_for(TOPIC_NODE_INTROSPECTION))
                rejected = bus.retained(TOPIC_NODE_REJECTED)
                port = host.http_port
            finally:
                await host.stop()
    problems = [
        f"{n.node_name} ({n.role}) ended {n.final_state}, expected {n.expected_state}"
        for n in final
        if not n.as_expected
    ]
    if dead < 1:
        problems.append("the garbage message did not reach the DLQ")
    if rejected < 1:
        problems.append("the invalid introspection was not rejected")
    return ModelDemoReport(
        nodes=tuple(final),
        dead_lettered=dead,
        rejected_events=rejected,
        outcomes=outcomes,
        seconds=round(time.monotonic() - started, 2),
        hub_port=port,
        ok=not problems,
        problems=tuple(problems),
    )


def _fleet(bus: EventBusInmemory, nodes: int, crash: int, shutdown: int) -> NodeFleet:
    fleet = NodeFleet(bus)
    for index in range(max(nodes, crash + shutdown + 1)):
        node_type = _TYPES[index % len(_TYPES)]
        description = ModelNodeDescription(
            node_name=f"demo-{node_type}-{index:03d}",
            node_type=node_type,
            capability=f"demo.{node_type}",
            health_endpoint=f"http://127.0.0.1:{9000 + index}/health",
            shape="published" if index == nodes - 1 else "core",
        )
        fleet.add(NodeRegistrationClient(bus, description, heartbeat_interval_seconds=0.3))
    return fleet


async def _register(
    fleet: NodeFleet, clients: list[NodeRegistrationClient], report: Progress
) -> None:
    """Start every node, then wait until each is active (introspect, accepted, ack)."""
    for client in clients:
        await client.start()
    total = len(clients)
    while (done := sum(c.active.is_set() for c in clients)) < total:
        report("registering", done, total)
        await asyncio.sleep(0.05)
    report("registering", total, total)


async def _misbehave(bus: EventBusInmemory) -> None:
    """One sender of garbage bytes, one of an introspection that is not valid."""
    await bus.publish(TOPIC_NODE_INTROSPECTION, b"garbage", b"\x00\xff not an envelope")
    invalid = JsonEnvelope(
        payload={"node_id": str(uuid4()), "node_name": "broken", "node_type": "mainframe"},
        payload_type="ModelNodeIntrospectionEvent",
        correlation_id=uuid4(),
    )
    await bus.publish_envelope(invalid, TOPIC_NODE_INTROSPECTION)


async def _end_lives(
    clients: list[NodeRegistrationClient], crash: int, shutdown: int, report: Progress
) -> None:
    """Crash the first ``crash`` nodes (silently) and shut down the next ``shutdown``."""
    for index, client in enumerate(clients[: crash + shutdown]):
        await client.stop("demo shutdown", announce=index >= crash)
        report("ending lives", index + 1, crash + shutdown)


async def _wait_removed(
    storage: RegistrationStorage, crashed: list[NodeRegistrationClient], report: Progress
) -> None:
    """Wait until every crashed node has gone stale, expired and left storage."""
    ids = {c.node_id for c in crashed}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        present = {r.node_id for r in await storage.list_all()}
        gone = len(ids - present)
        report("expiring crashed nodes", gone, len(ids))
        if gone == len(ids):
            return
        await asyncio.sleep(0.1)


async def _final(
    storage: RegistrationStorage,
    clients: list[NodeRegistrationClient],
    crash: int,
    shutdown: int,
) -> list[ModelDemoNode]:
    current = {r.node_id: r for r in await storage.list_all()}
    history = await storage.final_states([c.node_id for c in clients])
    now = time.time()
    result = []
    for index, client in enumerate(clients):
        role, expected = (
            ("crashed", "expired")
            if index < crash
            else ("shut down", "deregistered")
            if index < crash + shutdown
            else ("alive", "active")
        )
        record = current.get(client.node_id)
        result.append(
            ModelDemoNode(
                node_id=client.node_id,
                node_name=client.description.node_name,
                node_type=client.description.node_type,
                role=role + (" *" if client.description.shape == "published" else ""),
                expected_state=expected,
                final_state=record.state.value if record else history.get(client.node_id, "?"),
                last_heartbeat_age_s=(
                    round(now - record.last_heartbeat_at.timestamp(), 1) if record else None
                ),
                storage_status=record.storage_status.value if record else "removed",
                discovery_status=record.discovery_status.value if record else "removed",
            )
        )
    return result


def count_states(nodes: tuple[ModelDemoNode, ...]) -> Counter[str]:
    """How many nodes ended in each state."""
    return Counter(n.final_state for n in nodes)

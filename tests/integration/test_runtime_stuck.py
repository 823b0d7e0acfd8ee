"""Stuck detection through the runtime host: /ready and /metrics name a consumer that does not
move while it has messages waiting, and clear once it moves again."""

from __future__ import annotations

import asyncio
from uuid import UUID

import httpx
from runtime_support import (
    RecordingSink,
    get_metrics,
    hub_client,
    in_memory_bus,
    node_config,
    publish_start_job,
    running_host,
)
from runtime_testnodes.models import ModelRtRecordJob

from omnibase_infra.testing import eventually


class _GatedSink(RecordingSink):
    """A sink that holds every job until the test opens the gate (a hung dependency)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = 0

    async def record(
        self,
        job: ModelRtRecordJob,
        *,
        correlation_id: UUID,
        envelope_id: UUID,
        parent_envelope_id: UUID | None,
    ) -> None:
        self.waiting += 1
        await self.gate.wait()
        await super().record(
            job,
            correlation_id=correlation_id,
            envelope_id=envelope_id,
            parent_envelope_id=parent_envelope_id,
        )


async def test_ready_names_a_stuck_consumer_and_metrics_count_it() -> None:
    """A node that holds its message past stuck_after_seconds makes /ready 503 naming its group,
    topic and partition, counts one stuck episode, and /ready is 200 again once it moves."""
    sink = _GatedSink()
    config = node_config(event_bus={"retry": None, "stuck_after_seconds": 0.5})
    async with running_host(config, sink=sink) as host, hub_client(host) as client:
        await publish_start_job(in_memory_bus(host))
        await eventually(lambda: sink.waiting, "the effect to hold its job")
        stuck: dict[str, object] = {}

        async def reported() -> bool:
            reply = await client.get("/ready")
            checks = {c["name"]: c for c in reply.json()["checks"]}
            stuck.update(checks["consumer_progress"])
            return reply.status_code == 503 and not checks["consumer_progress"]["healthy"]

        await eventually(reported)
        detail = str(stuck["detail"])
        (group,) = {g for _, g in host.engine.consumer_groups if f"group {g} stuck on " in detail}
        assert "partition" in detail
        assert "at offset 0 with 1 waiting" in detail
        metrics = await get_metrics(client)
        episodes = [
            value
            for (name, labels), value in metrics.items()
            if name == "onex_event_bus_stuck_partitions_total"
            and ("consumer_group", group) in labels
        ]
        assert episodes == [1.0]
        sink.gate.set()
        await eventually(lambda: _ready(client))
        assert len(sink.recorded) == 1


async def _ready(client: httpx.AsyncClient) -> bool:
    return (await client.get("/ready")).status_code == 200

"""The ingress on the Kafka bus (a real Tansu broker): a POSTed event goes through Kafka and the
test nodes handle it, as on the in-memory bus."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from ingress_support import ingress_host, start_job
from runtime_support import RecordingSink
from runtime_testnodes.topics import TOPIC_START_JOB

from omnibase_infra.event_bus.kafka.bus import EventBusKafka
from omnibase_infra.testing.eventually import eventually
from omnibase_infra.testing.fixtures.kafka import make_kafka_settings
from omnibase_infra.testing.servers.tansu import TansuServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_event_posted_to_the_ingress_is_handled_through_kafka(
    tansu_server: TansuServer,
) -> None:
    """202 from the ingress, then the job recorded with the header's correlation id after the
    round trip through the broker."""
    environment = f"ingress-{uuid4().hex[:8]}"  # consumer groups of this test only
    bus = EventBusKafka(
        make_kafka_settings(tansu_server.bootstrap_servers), environment=environment
    )
    sink = RecordingSink()
    correlation = uuid4()
    async with ingress_host(
        sink, bus=bus, environment=environment, event_bus={"kind": "kafka", "retry": None}
    ) as (_, client):
        reply = await client.post(
            f"/v1/events/{TOPIC_START_JOB}",
            params={"payload_type": "ModelRtStartJob"},
            json=start_job(key=environment),
            headers={"X-Correlation-ID": str(correlation)},
        )
        assert reply.status_code == 202, reply.text
        await eventually(
            lambda: any(r.correlation_id == correlation for r in sink.recorded),
            "the job recorded through Kafka",
        )
    assert UUID(reply.json()["correlation_id"]) == correlation


async def test_batch_posted_to_the_ingress_is_handled_through_kafka(
    tansu_server: TansuServer,
) -> None:
    """A batch of 10 payloads is 202 with 10 ids, and every job is recorded after the round
    trip through the broker (the Kafka bus's publish_batch)."""
    environment = f"ingress-batch-{uuid4().hex[:8]}"
    bus = EventBusKafka(
        make_kafka_settings(tansu_server.bootstrap_servers), environment=environment
    )
    sink = RecordingSink()
    jobs = [start_job(key=f"{environment}-{i}", seq=i) for i in range(10)]
    async with ingress_host(
        sink, bus=bus, environment=environment, event_bus={"kind": "kafka", "retry": None}
    ) as (_, client):
        reply = await client.post(
            f"/v1/events/{TOPIC_START_JOB}/batch",
            params={"payload_type": "ModelRtStartJob"},
            json=jobs,
        )
        assert reply.status_code == 202, reply.text

        # The topic is shared with the module's other test: only this batch's keys count.
        def ours() -> set[str]:
            return {str(r.job.job_id) for r in sink.recorded if r.job.key.startswith(environment)}

        await eventually(lambda: len(ours()) >= 10, "every job recorded through Kafka")
    assert reply.json()["count"] == 10
    assert ours() == {str(j["job_id"]) for j in jobs if isinstance(j, dict)}

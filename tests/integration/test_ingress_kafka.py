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

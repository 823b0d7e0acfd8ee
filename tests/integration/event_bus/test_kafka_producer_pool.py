"""The Kafka producer pool effect: shared producers, health, breaker, typed publish failures."""

from __future__ import annotations

from pathlib import Path

import pytest

import omnibase_infra.nodes.node_kafka_producer_pool_effect as pool_package
from omnibase_infra._core import EnumCircuitBreakerState
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import InfraTimeoutError, InfraUnavailableError
from omnibase_infra.event_bus.kafka.bus import EventBusKafka
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.nodes.node_kafka_producer_pool_effect import (
    KafkaProducerPool,
    ModelKafkaProducerPoolInput,
)
from omnibase_infra.resilience.breaker.breaker import AsyncCircuitBreaker
from omnibase_infra.runtime.contract_loader import load_contract
from omnibase_infra.testing.fixtures_kafka import TopicFactory, eventually, make_kafka_settings
from omnibase_infra.testing.ports import free_port

pytestmark = pytest.mark.integration


async def test_pool_publishes_round_robin_and_reports_healthy(
    kafka_settings: ModelKafkaSettings, kafka_bus: EventBusKafka, unique_topic: TopicFactory
) -> None:
    """Two pooled producers take turns, every message arrives, and the pool pings healthy."""
    topic = unique_topic()
    received: list[BusMessage] = []

    async def on_message(message: BusMessage) -> None:
        received.append(message)

    await kafka_bus.subscribe(topic, on_message=on_message, group_id="pool")
    pool = KafkaProducerPool(kafka_settings, size=2)
    await pool.start()
    try:
        outputs = [
            await pool.publish(
                ModelKafkaProducerPoolInput(
                    topic=topic, key=b"k", value=str(i).encode(), headers={"h": str(i)}
                )
            )
            for i in range(4)
        ]
        health = await pool.ping()
        stats = pool.stats()
    finally:
        await pool.close()
    await eventually(lambda: len(received) == 4)
    assert [o.producer_index for o in outputs] == [0, 1, 0, 1]
    assert [m.value for m in received] == [b"0", b"1", b"2", b"3"]
    assert received[2].headers["h"] == "2"
    assert health.healthy
    assert (stats.published, stats.failed, stats.rejected) == (4, 0, 0)


async def test_breaker_opens_after_typed_failures_and_then_fails_fast() -> None:
    """Unacknowledged publishes raise typed KAFKA errors until the breaker opens and refuses."""
    settings = make_kafka_settings(f"127.0.0.1:{free_port()}", delivery_timeout_ms=1000)
    breaker = AsyncCircuitBreaker(
        "kafka-test", EnumInfraTransportType.KAFKA, threshold=2, reset_timeout=60
    )
    pool = KafkaProducerPool(settings, breaker=breaker)
    await pool.start()
    request = ModelKafkaProducerPoolInput(topic="onex.evt.test.down.v1", value=b"x")
    try:
        for _ in range(2):
            with pytest.raises(InfraTimeoutError) as failed:
                await pool.publish(request)
            assert failed.value.infra_context.transport_type is EnumInfraTransportType.KAFKA
        with pytest.raises(InfraUnavailableError) as refused:
            await pool.publish(request)
        health = await pool.ping()
        stats = pool.stats()
    finally:
        await pool.close()
    assert refused.value.retry_after_seconds is not None
    assert refused.value.retry_after_seconds > 0
    assert (stats.failed, stats.rejected, stats.published) == (2, 1, 0)
    assert stats.circuit_state is EnumCircuitBreakerState.OPEN
    assert not health.healthy


def test_contract_loads_with_the_runtime_loader() -> None:
    """The node's contract validates with core's effect model and the runtime's rules."""
    path = Path(pool_package.__file__).parent / "contract.yaml"
    contract = load_contract(path, allowlist=["omnibase_infra"])
    assert contract.name == "node_kafka_producer_pool_effect"
    assert contract.effect_policy is not None
    assert contract.effect_policy.circuit_breaker is not None
    assert contract.effect_policy.circuit_breaker.failure_threshold == 5

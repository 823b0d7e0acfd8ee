"""``KafkaProducerPool``: the runtime's shared producers, health-checked, behind one breaker.

A librdkafka producer is thread-safe and batches internally, so one producer per process is
usually right; ``size`` > 1 spreads publishes round-robin over several connections. Every
publish goes through one ``AsyncCircuitBreaker`` for the cluster: after ``failure_threshold``
dependency failures it opens and publishes fail fast with ``InfraUnavailableError`` (with
``retry_after_seconds``) until a trial publish succeeds. Failures are the client's errors
translated into ``InfraConnectionError``, ``InfraTimeoutError`` or ``InfraUnavailableError``
with KAFKA context (``event_bus.kafka.errors``).
"""

from __future__ import annotations

import itertools
import time

from omnibase_infra._core import EnumCircuitBreakerState, ModelCircuitBreakerSubcontract
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import InfraUnavailableError, ProtocolConfigurationError
from omnibase_infra.event_bus.kafka.errors import kafka_context
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.kafka.producer import KafkaProducer
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult
from omnibase_infra.nodes.node_kafka_producer_pool_effect.model_kafka_producer_pool_input import (
    ModelKafkaProducerPoolInput,
)
from omnibase_infra.nodes.node_kafka_producer_pool_effect.model_kafka_producer_pool_output import (
    ModelKafkaProducerPoolOutput,
)
from omnibase_infra.nodes.node_kafka_producer_pool_effect.model_kafka_producer_pool_stats import (
    ModelKafkaProducerPoolStats,
)
from omnibase_infra.resilience.breaker.breaker import AsyncCircuitBreaker

__all__ = ["KafkaProducerPool"]


class KafkaProducerPool:
    """Shared producers with health and a circuit breaker on publish (see module)."""

    def __init__(
        self,
        settings: ModelKafkaSettings,
        *,
        size: int = 1,
        breaker: AsyncCircuitBreaker | None = None,
        breaker_policy: ModelCircuitBreakerSubcontract | None = None,
        name: str = "kafka_producer_pool",
    ) -> None:
        if size < 1:
            raise ProtocolConfigurationError("pool size must be >= 1", field="size")
        self._name = name
        self._producers = [KafkaProducer(settings, name=f"{name}-{index}") for index in range(size)]
        self._next = itertools.cycle(range(size))
        if breaker is None:
            breaker = (
                AsyncCircuitBreaker.from_subcontract(
                    breaker_policy, name, EnumInfraTransportType.KAFKA, operation="publish"
                )
                if breaker_policy is not None
                else AsyncCircuitBreaker(
                    name,
                    EnumInfraTransportType.KAFKA,
                    threshold=5,
                    reset_timeout=30.0,
                    operation="publish",
                )
            )
        self._breaker = breaker
        self._published = 0
        self._failed = 0
        self._rejected = 0

    @property
    def handler_name(self) -> str:
        """Name in health reports, metrics and logs."""
        return self._name

    @property
    def transport_type(self) -> EnumInfraTransportType:
        """Kafka."""
        return EnumInfraTransportType.KAFKA

    @property
    def producer(self) -> KafkaProducer:
        """The first pooled producer (hand it to ``EventBusKafka(producer=...)`` to share it)."""
        return self._producers[0]

    async def start(self) -> None:
        """Start every producer (idempotent)."""
        for producer in self._producers:
            await producer.start()

    async def close(self) -> None:
        """Flush and stop every producer (safe to call twice)."""
        for producer in self._producers:
            await producer.close()

    async def publish(self, request: ModelKafkaProducerPoolInput) -> ModelKafkaProducerPoolOutput:
        """Publish through the next producer and the breaker; returns once acknowledged."""
        index = next(self._next)
        producer = self._producers[index]
        if not producer.started:
            raise InfraUnavailableError(
                "kafka producer pool is not started",
                context=kafka_context("publish", request.topic),
            )
        started = time.perf_counter()
        entered = False

        async def attempt() -> None:
            nonlocal entered
            entered = True
            await producer.publish(request.topic, request.key, request.value, dict(request.headers))

        try:
            await self._breaker.call(attempt)
        except Exception:
            # Not entered: the open circuit refused the call before any I/O.
            if entered:
                self._failed += 1
            else:
                self._rejected += 1
            raise
        self._published += 1
        return ModelKafkaProducerPoolOutput(
            topic=request.topic,
            producer_index=index,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    async def ping(self) -> ModelHealthCheckResult:
        """Healthy when every producer reaches the cluster and the breaker is not open."""
        started = time.perf_counter()
        for producer in self._producers:
            result = await producer.ping()
            if not result.healthy:
                return ModelHealthCheckResult(
                    name=self._name,
                    healthy=False,
                    latency_ms=(time.perf_counter() - started) * 1000,
                    detail=f"{producer.name}: {result.detail}",
                )
        state = self._breaker.state
        return ModelHealthCheckResult(
            name=self._name,
            healthy=state is not EnumCircuitBreakerState.OPEN,
            latency_ms=(time.perf_counter() - started) * 1000,
            detail=None if state is not EnumCircuitBreakerState.OPEN else "circuit open",
        )

    def stats(self) -> ModelKafkaProducerPoolStats:
        """Counters and state of the pool right now."""
        return ModelKafkaProducerPoolStats(
            size=len(self._producers),
            published=self._published,
            failed=self._failed,
            rejected=self._rejected,
            pending=sum(p.pending() for p in self._producers),
            circuit_state=self._breaker.state,
        )

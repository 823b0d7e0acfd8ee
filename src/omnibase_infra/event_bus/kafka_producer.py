"""An asyncio front for one librdkafka producer: ``publish`` returns once the broker acked.

``produce()`` only appends to librdkafka's bounded local queue, so it is called on the event
loop; delivery reports are served by one poller thread, collected, and handed back to the loop
in one ``call_soon_threadsafe`` per poll (not one wake-up per message). A full local queue
(``BufferError``) makes ``publish`` wait for room (backpressure) up to the delivery timeout,
never grow memory.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from omnibase_infra.errors import InfraUnavailableError
from omnibase_infra.event_bus.kafka_errors import kafka_context, translate_kafka_error
from omnibase_infra.event_bus.kafka_logging import client_logger
from omnibase_infra.event_bus.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult

__all__ = ["KafkaProducer"]

_POLL_SECONDS = 0.05
_FULL_QUEUE_WAIT_SECONDS = 0.005


class KafkaProducer:
    """One shared producer (thread-safe in librdkafka); ``publish`` is safe from any task."""

    def __init__(self, settings: ModelKafkaSettings, *, name: str = "kafka") -> None:
        self._settings = settings
        self._name = name
        self._producer: Producer | None = None
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        # Delivery reports waiting for the loop: (future, error) appended by the poller thread.
        self._reports: deque[tuple[asyncio.Future[None], KafkaError | None, str]] = deque()

    @property
    def name(self) -> str:
        """Name used in health reports."""
        return self._name

    @property
    def started(self) -> bool:
        """Whether the producer is running."""
        return self._producer is not None

    def pending(self) -> int:
        """Messages queued locally or in flight, not yet acknowledged."""
        return 0 if self._producer is None else len(self._producer)

    async def start(self) -> None:
        """Create the client and start the delivery-report poller (idempotent)."""
        if self._producer is not None:
            return
        config: dict[str, object] = {
            **self._settings.producer_config(),
            "logger": client_logger(logging.getLogger(f"omnibase_infra.kafka.{self._name}")),
        }
        self._producer = Producer(config)
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        self._poller = threading.Thread(
            target=self._poll_forever,
            args=(self._producer,),
            name=f"{self._name}-poll",
            daemon=True,
        )
        self._poller.start()

    def _poll_forever(self, producer: Producer) -> None:
        loop = self._loop
        assert loop is not None
        while not self._stop.is_set():
            if producer.poll(_POLL_SECONDS) and self._reports:
                loop.call_soon_threadsafe(self._settle_reports)

    def _settle_reports(self) -> None:
        """Resolve the publish futures of every delivery report collected so far."""
        reports = self._reports
        while reports:
            future, error, topic = reports.popleft()
            _settle(future, error, topic)

    async def publish(
        self, topic: str, key: bytes | None, value: bytes, headers: dict[str, str]
    ) -> None:
        """Send one message and wait for the broker's acknowledgement (acks=all)."""
        producer = self._producer
        if producer is None:
            raise InfraUnavailableError(
                "kafka producer is not started", context=kafka_context("publish", topic)
            )
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        reports = self._reports

        def on_delivery(error: KafkaError | None, _message: Message) -> None:
            reports.append((future, error, topic))

        wire_headers: list[tuple[str, str | bytes | None]] | None = (
            list(headers.items()) if headers else None
        )
        deadline: float | None = None
        while True:
            try:
                producer.produce(topic, value, key, headers=wire_headers, on_delivery=on_delivery)
                break
            except BufferError as exc:
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self._settings.delivery_timeout_ms / 1000
                elif now >= deadline:
                    raise translate_kafka_error(exc, "publish", topic) from exc
                await asyncio.sleep(_FULL_QUEUE_WAIT_SECONDS)
            except KafkaException as exc:
                raise translate_kafka_error(exc, "publish", topic) from exc
        await future

    async def flush(self, wait_seconds: float = 10.0) -> int:
        """Wait until queued messages are delivered; returns how many are still pending."""
        producer = self._producer
        if producer is None:
            return 0
        remaining = await asyncio.to_thread(producer.flush, wait_seconds)
        self._settle_reports()  # flush served reports on its own thread
        return remaining

    async def ping(self) -> ModelHealthCheckResult:
        """A metadata round trip to the cluster; reports failure instead of raising."""
        started = time.perf_counter()
        producer = self._producer
        if producer is None:
            return ModelHealthCheckResult(name=self._name, healthy=False, detail="not started")
        try:
            metadata = await asyncio.to_thread(producer.list_topics, None, 5.0)
        except KafkaException as exc:
            return ModelHealthCheckResult.failed(
                self._name, exc, (time.perf_counter() - started) * 1000
            )
        latency = (time.perf_counter() - started) * 1000
        if not metadata.brokers:
            return ModelHealthCheckResult(
                name=self._name, healthy=False, latency_ms=latency, detail="no brokers"
            )
        return ModelHealthCheckResult(name=self._name, healthy=True, latency_ms=latency)

    async def close(self, wait_seconds: float = 10.0) -> None:
        """Deliver what is queued (up to ``wait_seconds``), then stop the poller (idempotent)."""
        producer, self._producer = self._producer, None
        if producer is None:
            return
        await asyncio.to_thread(producer.flush, wait_seconds)
        self._stop.set()
        if self._poller is not None:
            await asyncio.to_thread(self._poller.join, 5.0)
            self._poller = None
        self._settle_reports()  # reports served by the final flush


def _settle(future: asyncio.Future[None], error: KafkaError | None, topic: str) -> None:
    """Resolve a publish future on the event loop from a delivery report."""
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(translate_kafka_error(error, "publish", topic))

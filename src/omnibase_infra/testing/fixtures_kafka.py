"""Pytest fixtures for the Kafka bus on a real Tansu broker (register via ``pytest_plugins``).

One broker per test session (``tansu_server``); every test gets topics of its own
(``unique_topic``), so tests never see each other's messages. ``kafka_settings`` uses short
group timeouts so joins and rebalances take about a second on Tansu.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Protocol

import pytest
import pytest_asyncio

from omnibase_infra.enums import EnumTopicKind
from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.kafka.bus import EventBusKafka
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.topics import build_topic
from omnibase_infra.testing.server_tansu import TansuServer

__all__ = [
    "TopicFactory",
    "any_bus",
    "bus_partitions",
    "eventually",
    "kafka_bus",
    "kafka_settings",
    "make_kafka_settings",
    "make_unique_topic",
    "tansu_server",
    "unique_topic",
]


class TopicFactory(Protocol):
    """Makes a topic name no other test uses."""

    def __call__(self, kind: EnumTopicKind = ..., event: str = ...) -> str:
        """A fresh topic of ``kind`` whose event segment starts with ``event``."""
        ...


async def eventually(
    predicate: Callable[[], object | Awaitable[object]], *, within: float = 20.0
) -> None:
    """Wait until ``predicate()`` is truthy (it may be async); ``TimeoutError`` after ``within``."""
    async with asyncio.timeout(within):
        while True:
            result = predicate()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.02)


def make_kafka_settings(bootstrap_servers: str, **overrides: object) -> ModelKafkaSettings:
    """Settings for tests: short session timeout (fast joins on Tansu), quick redelivery."""
    values: dict[str, object] = {
        "bootstrap_servers": bootstrap_servers,
        "session_timeout_ms": 2_000,
        "heartbeat_interval_ms": 300,
        "fetch_wait_max_ms": 20,
        "join_timeout_seconds": 30.0,
        **overrides,
    }
    return ModelKafkaSettings.model_validate(values)


def make_unique_topic(kind: EnumTopicKind = EnumTopicKind.EVT, event: str = "t") -> str:
    """A fresh, valid topic name (``onex.<kind>.test.<event>-<hex>.v1``)."""
    return build_topic(kind, "test", f"{event}-{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def tansu_server() -> Iterator[TansuServer]:
    """A Tansu broker on a free 127.0.0.1 port for the whole session, stopped by PID."""
    with TansuServer() as server:
        yield server


@pytest.fixture
def kafka_settings(tansu_server: TansuServer) -> ModelKafkaSettings:
    """Bus settings pointing at the session's broker."""
    return make_kafka_settings(tansu_server.bootstrap_servers)


@pytest.fixture
def unique_topic() -> TopicFactory:
    """A factory of topic names no other test uses."""
    return make_unique_topic


@pytest_asyncio.fixture
async def kafka_bus(kafka_settings: ModelKafkaSettings) -> AsyncIterator[EventBusKafka]:
    """A started EventBusKafka on the session's broker, closed after the test."""
    bus = EventBusKafka(kafka_settings)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()


@pytest_asyncio.fixture(params=["inmemory", pytest.param("kafka", marks=pytest.mark.integration)])
async def any_bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBusBase]:
    """Each bus in turn, started: EventBusInmemory, then EventBusKafka on the real broker.

    Topics get ``bus_partitions`` partitions (a fixture, 4 unless a module overrides it).
    """
    partitions: int = request.getfixturevalue("bus_partitions")
    bus: EventBusBase
    if request.param == "kafka":
        settings: ModelKafkaSettings = request.getfixturevalue("kafka_settings")
        bus = EventBusKafka(settings.model_copy(update={"partitions": partitions}))
    else:
        bus = EventBusInmemory(partitions=partitions)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()


@pytest.fixture
def bus_partitions() -> int:
    """Partitions per topic for ``any_bus`` (override the fixture in a module to change it)."""
    return 4

"""Transactional outbox on a real PostgreSQL: atomic writes, relays, failures and kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from uuid import uuid4

import pytest

from omnibase_infra._core import ModelEventEnvelope, ProtocolEventBusHeaders
from omnibase_infra.errors import InfraConnectionError, ProtocolConfigurationError
from omnibase_infra.event_bus.codec import decode_envelope
from omnibase_infra.event_bus.headers import HEADER_ENVELOPE_ID
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.kafka.bus import EventBusKafka
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.resilience.outbox import OutboxRelay, enqueue, enqueue_envelope
from omnibase_infra.testing import ManagedProcess, eventually, make_unique_topic

pytestmark = pytest.mark.integration


class _Collector:
    """Subscribes to a topic from the start and keeps every value it receives."""

    def __init__(self) -> None:
        self.values: list[bytes] = []
        self.headers: list[dict[str, str]] = []

    async def __call__(self, message: BusMessage) -> None:
        self.values.append(message.value)
        self.headers.append(dict(message.headers))


async def _subscribe(bus: EventBusInmemory | EventBusKafka, topic: str) -> _Collector:
    collector = _Collector()
    await bus.subscribe(
        topic, on_message=collector, group_id=f"verify-{uuid4().hex}", auto_offset_reset="earliest"
    )
    return collector


async def _enqueue_numbers(handler: HandlerPostgres, topic: str, count: int) -> None:
    async with handler.transaction() as tx:
        for n in range(count):
            await enqueue(tx, topic=topic, value=f"msg-{n}".encode(), headers={"n": str(n)})


async def _drain(relay: OutboxRelay) -> None:
    while await relay.relay_once():
        pass


async def test_state_change_and_message_commit_or_roll_back_together(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """A committed transaction holds both rows; a failed one leaves neither."""
    handler = postgres_migrated_handler
    await handler.execute("CREATE TABLE orders (id int PRIMARY KEY, state text NOT NULL)")
    topic = make_unique_topic()
    async with handler.transaction() as tx:
        await tx.execute("INSERT INTO orders VALUES (1, 'paid')")
        await enqueue(tx, topic=topic, value=b"order-1-paid")

    async def pay_then_crash() -> None:
        async with handler.transaction() as tx:
            await tx.execute("INSERT INTO orders VALUES (2, 'paid')")
            await enqueue(tx, topic=topic, value=b"order-2-paid")
            raise RuntimeError("crash between the state change and the commit")

    with pytest.raises(RuntimeError, match="crash"):
        await pay_then_crash()
    assert await handler.fetchval("SELECT count(*) FROM orders") == 1
    rows = await handler.fetch("SELECT value FROM onex_outbox ORDER BY id")
    assert [r["value"] for r in rows] == [b"order-1-paid"]


async def test_bad_topic_is_refused_before_anything_is_written(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """An invalid topic name raises a typed error and the transaction writes nothing."""
    handler = postgres_migrated_handler
    with pytest.raises(ProtocolConfigurationError, match="topic"):
        async with handler.transaction() as tx:
            await enqueue(tx, topic="not a topic", value=b"x")
    assert await handler.fetchval("SELECT count(*) FROM onex_outbox") == 0


async def test_relay_publishes_envelopes_in_order_and_marks_them_sent(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """Envelopes written to the outbox reach the bus, in order, with their headers."""
    handler = postgres_migrated_handler
    bus = EventBusInmemory(partitions=1)
    topic = make_unique_topic()
    collector = await _subscribe(bus, topic)
    envelopes = [
        ModelEventEnvelope[dict[str, int]](payload={"n": n}, correlation_id=uuid4())
        for n in range(30)
    ]
    async with handler.transaction() as tx:
        for envelope in envelopes:
            await enqueue_envelope(tx, envelope, topic)
    relay = OutboxRelay(handler, bus, batch_size=7)
    await _drain(relay)
    await eventually(lambda: len(collector.values) == 30)
    decoded = [decode_envelope(v) for v in collector.values]
    assert [d.envelope_id for d in decoded] == [e.envelope_id for e in envelopes]
    assert [h[HEADER_ENVELOPE_ID] for h in collector.headers] == [
        str(e.envelope_id) for e in envelopes
    ]
    assert await relay.pending() == 0
    assert await handler.fetchval("SELECT count(*) FROM onex_outbox WHERE sent_at IS NULL") == 0
    assert await relay.purge_sent(older_than_seconds=0) == 30
    await bus.close()


async def test_several_relays_share_the_work_without_duplicates(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """Four relays running at once publish each of 400 rows exactly once (SKIP LOCKED)."""
    handler = postgres_migrated_handler
    bus = EventBusInmemory(partitions=4, capacity=10_000)
    topic = make_unique_topic()
    collector = await _subscribe(bus, topic)
    await _enqueue_numbers(handler, topic, 400)
    stop = asyncio.Event()
    relays = [
        OutboxRelay(handler, bus, batch_size=10, poll_interval_seconds=0.01) for _ in range(4)
    ]
    tasks = [asyncio.create_task(r.run(stop)) for r in relays]
    await eventually(lambda: len(collector.values) >= 400)

    async def drained() -> bool:
        return await relays[0].pending() == 0

    await eventually(drained)
    stop.set()
    await asyncio.gather(*tasks)
    assert sorted(collector.values) == sorted(f"msg-{n}".encode() for n in range(400))
    await bus.close()


class _FlakyBus(EventBusInmemory):
    """An in-memory bus whose publish fails for one chosen message (a broker hiccup)."""

    def __init__(self, fail_value: bytes) -> None:
        super().__init__(partitions=1)
        self.fail_value: bytes | None = fail_value

    async def publish(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Mapping[str, str] | ProtocolEventBusHeaders | None = None,
    ) -> None:
        if value == self.fail_value:
            raise InfraConnectionError("broker connection reset")
        await super().publish(topic, key, value, headers)


async def test_failed_publish_keeps_the_row_and_commits_the_ones_before(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """A publish failure marks earlier rows sent, records the error on the failed row, and a
    later pass publishes the rest without republishing the earlier ones."""
    handler = postgres_migrated_handler
    bus = _FlakyBus(fail_value=b"msg-3")
    topic = make_unique_topic()
    collector = await _subscribe(bus, topic)
    await _enqueue_numbers(handler, topic, 6)
    relay = OutboxRelay(handler, bus, batch_size=10)
    with pytest.raises(InfraConnectionError):
        await relay.relay_once()
    rows = await handler.fetch(
        "SELECT value, sent_at IS NOT NULL AS sent, attempts, last_error "
        "FROM onex_outbox ORDER BY id"
    )
    assert [r["sent"] for r in rows] == [True, True, True, False, False, False]
    assert rows[3]["attempts"] == 1
    assert "broker connection reset" in rows[3]["last_error"]
    bus.fail_value = None
    await _drain(relay)
    await eventually(lambda: len(collector.values) == 6)
    assert collector.values == [f"msg-{n}".encode() for n in range(6)]
    await bus.close()


_CHILD_RELAY = textwrap.dedent(
    """
    import asyncio, os
    from omnibase_infra.event_bus.kafka.bus import EventBusKafka
    from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
    from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
    from omnibase_infra.handlers.postgres.model_postgres_settings import ModelPostgresSettings
    from omnibase_infra.resilience.outbox import OutboxRelay

    class SlowKafka(EventBusKafka):
        # Slow enough that the parent's kill -9 lands in the middle of a batch.
        async def publish(self, topic, key, value, headers=None):
            await asyncio.sleep(0.004)
            await super().publish(topic, key, value, headers)

    async def main():
        handler = HandlerPostgres(ModelPostgresSettings.from_dsn(os.environ["ONEX_TEST_PG_DSN"]))
        await handler.start()
        bus = SlowKafka(ModelKafkaSettings(bootstrap_servers=os.environ["ONEX_TEST_KAFKA"]))
        await bus.start()
        print("relay started", flush=True)
        await OutboxRelay(handler, bus, batch_size=25).run()

    asyncio.run(main())
    """
)


async def test_kill_9_of_a_relay_mid_run_loses_nothing(
    postgres_migrated_handler: HandlerPostgres,
    postgres_dsn: str,
    kafka_settings: ModelKafkaSettings,
    kafka_bus: EventBusKafka,
    tmp_path: Path,
) -> None:
    """A relay process publishing to Kafka is killed with SIGKILL mid-run; a second relay
    finishes, and every outbox message is on the topic (at least once), every row sent."""
    handler = postgres_migrated_handler
    topic = make_unique_topic()
    total = 600
    await _enqueue_numbers(handler, topic, total)
    script = tmp_path / "relay_child.py"
    script.write_text(_CHILD_RELAY)
    env = {
        **os.environ,
        "ONEX_TEST_PG_DSN": postgres_dsn,  # via the environment: never on a command line
        "ONEX_TEST_KAFKA": kafka_settings.bootstrap_servers,
    }
    child = ManagedProcess(
        "outbox-relay", [sys.executable, str(script)], log_path=tmp_path / "relay.log", env=env
    )
    child.start()
    try:

        async def sent() -> int:
            value = await handler.fetchval(
                "SELECT count(*) FROM onex_outbox WHERE sent_at IS NOT NULL"
            )
            assert isinstance(value, int)
            return value

        async def mid_run() -> bool:
            return await sent() >= 100

        await eventually(mid_run, timeout=60.0)
        os.kill(child.pid, signal.SIGKILL)
        await asyncio.to_thread(child.stop)
        sent_at_kill = await sent()
        assert 0 < sent_at_kill < total, "the kill must land mid-run"
    finally:
        await asyncio.to_thread(child.stop)

    # A new relay takes over (the dead relay's locks went with its connection).
    await _drain(OutboxRelay(handler, kafka_bus, batch_size=50))
    assert await handler.fetchval("SELECT count(*) FROM onex_outbox WHERE sent_at IS NULL") == 0

    collector = await _subscribe(kafka_bus, topic)
    expected = {f"msg-{n}".encode() for n in range(total)}
    await eventually(lambda: expected <= set(collector.values), timeout=60.0)
    duplicates = len(collector.values) - len(set(collector.values))
    # At least once: rows published by the killed relay but not yet committed as sent are
    # published again; nothing is missing.
    assert set(collector.values) == expected
    assert duplicates <= 25  # at most the killed relay's one uncommitted batch

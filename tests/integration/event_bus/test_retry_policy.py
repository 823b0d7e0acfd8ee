"""Delayed retries, then the DLQ, through the real dispatch engine, on both buses.

Retries go through retry topics (as on Kafka) or are redelivered in place (as on the in-memory
bus); a failure that says a dependency is unavailable is retried for the outage budget, any
other retriable failure for ``max_attempts`` deliveries.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
import pytest_asyncio

from omnibase_infra._core import EnumNodeKind
from omnibase_infra.dispatch import DispatchContext, MessageDispatchEngine, ModelNodeOutput
from omnibase_infra.dispatch.engine import make_route
from omnibase_infra.dispatch.failure_policy import RetryFailurePolicy
from omnibase_infra.dispatch.model_retry_settings import ModelRetrySettings
from omnibase_infra.dispatch.retry_consumer import RetryConsumer
from omnibase_infra.enums import EnumDispatchOutcome
from omnibase_infra.errors import InfraUnavailableError, RuntimeHostError
from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.event_bus.codec import JsonEnvelope
from omnibase_infra.event_bus.dlq import read_dlq_record
from omnibase_infra.event_bus.headers import HEADER_CORRELATION_ID, HEADER_RETRY_STATE
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.event_bus.topics import dlq_topic_for
from omnibase_infra.observability.metrics import REGISTRY
from omnibase_infra.testing import TopicFactory, eventually

NODE = "retry-probe"
SETTINGS = ModelRetrySettings(max_attempts=3, base_delay_seconds=0.2, max_delay_seconds=0.5)
# Two deliveries for a failure that is not an outage; an outage is retried for 30 s.
OUTAGE = ModelRetrySettings(
    max_attempts=2, base_delay_seconds=0.05, max_delay_seconds=0.2, outage_budget_seconds=30
)


@pytest.fixture
def bus_partitions() -> int:
    """One partition per topic, so every key shares it (the head-of-line case)."""
    return 1


@pytest.fixture(params=["topics", "redeliver"])
def mode(request: pytest.FixtureRequest) -> str:
    """How retries are made: through retry topics, or redelivered in place."""
    return str(request.param)


@dataclass
class _Handler:
    """Fails a payload's first ``fail_times[id]`` deliveries (as an outage for the jobs in
    ``outage``, else as a retriable error that is not one); records every call in order."""

    fail_times: dict[str, int]
    outage: set[str] = field(default_factory=set)
    calls: list[tuple[str, int]] = field(default_factory=list)

    async def handle(self, context: DispatchContext) -> ModelNodeOutput | None:
        payload = context.payload
        assert isinstance(payload, dict)
        job = str(payload["id"])
        attempt = 1 + sum(1 for called, _ in self.calls if called == job)
        self.calls.append((job, attempt))
        if attempt <= self.fail_times.get(job, 0):
            if job in self.outage:
                raise InfraUnavailableError(f"dependency down for {job}")
            raise RuntimeHostError(f"transient failure of {job}", retriable=True)
        return None


@dataclass
class _Wiring:
    bus: EventBusBase
    topic: str
    handler: _Handler
    engine: MessageDispatchEngine
    dead: list[BusMessage]


@asynccontextmanager
async def _wired(
    bus: EventBusBase, topic: str, settings: ModelRetrySettings, *, redeliver: bool
) -> AsyncIterator[_Wiring]:
    """Engine with the retry policy (and the retry consumer when retries use topics), plus a
    watcher of the DLQ topic."""
    handler = _Handler(fail_times={})
    policy = RetryFailurePolicy(bus, settings, redeliver=redeliver)
    engine = MessageDispatchEngine(bus, failure_policy=policy, auto_offset_reset="earliest")
    engine.add_route(
        make_route(
            node_name=NODE,
            archetype=EnumNodeKind.EFFECT,
            topic=topic,
            handler=handler,
            payload_type="Job",
        )
    )
    dead: list[BusMessage] = []

    async def on_dead(message: BusMessage) -> None:
        dead.append(message)

    await bus.subscribe(
        dlq_topic_for(topic), on_message=on_dead, group_id="dlq-watch", auto_offset_reset="earliest"
    )
    await engine.start()
    retry = RetryConsumer(
        bus, engine, topics=[topic], consumer_group=engine.group_id_for(NODE), settings=settings
    )
    if not redeliver:
        await retry.start()
    try:
        yield _Wiring(bus, topic, handler, engine, dead)
    finally:
        await retry.stop()
        await policy.close()
        await engine.stop()


@pytest_asyncio.fixture
async def wiring(any_bus: EventBusBase, unique_topic: TopicFactory) -> AsyncIterator[_Wiring]:
    """The engine retrying through retry topics with ``SETTINGS``."""
    async with _wired(any_bus, unique_topic(), SETTINGS, redeliver=False) as wired:
        yield wired


def _failures_counted(wiring: _Wiring, name: str, **labels: str) -> float:
    """The value of a failure-policy counter for the wiring's topic and consumer group."""
    group = wiring.engine.group_id_for(NODE)
    full = {"topic": wiring.topic, "consumer_group": group, **labels}
    return REGISTRY.get_sample_value(name, full) or 0.0


async def _publish_job(wiring: _Wiring, job: str, key: bytes) -> JsonEnvelope:
    envelope = JsonEnvelope(payload={"id": job}, payload_type="Job", correlation_id=uuid.uuid4())
    await wiring.bus.publish_envelope(envelope, wiring.topic, key)
    return envelope


async def test_transient_failure_succeeds_on_a_later_attempt(wiring: _Wiring) -> None:
    """A job failing twice is retried with growing attempt numbers and handled on the third."""
    wiring.handler.fail_times["flaky"] = 2
    await _publish_job(wiring, "flaky", b"k")
    await eventually(lambda: wiring.engine.outcomes[EnumDispatchOutcome.HANDLED] == 1)
    assert wiring.handler.calls == [("flaky", 1), ("flaky", 2), ("flaky", 3)]
    assert wiring.engine.outcomes[EnumDispatchOutcome.RETRY] == 2
    assert wiring.dead == []


async def test_last_failure_dead_letters_original_bytes_with_record(wiring: _Wiring) -> None:
    """After the last attempt the DLQ holds the original bytes, headers and a full record."""
    wiring.handler.fail_times["doomed"] = 99
    envelope = await _publish_job(wiring, "doomed", b"k")
    await eventually(lambda: wiring.dead)
    dead = wiring.dead[0]
    record = read_dlq_record(dead)
    assert record is not None
    assert dead.value == envelope.model_dump_json(exclude_none=True).encode()
    assert dead.headers[HEADER_CORRELATION_ID] == str(envelope.correlation_id)
    assert HEADER_RETRY_STATE not in dead.headers
    assert record.attempts == SETTINGS.max_attempts
    assert record.error_type == "RuntimeHostError"
    assert record.consumer_group == wiring.engine.group_id_for(NODE)
    assert record.original_topic == wiring.topic
    assert record.first_failure_at < record.last_failure_at
    assert record.correlation_id == envelope.correlation_id
    assert [attempt for _, attempt in wiring.handler.calls] == [1, 2, 3]


async def test_failing_key_does_not_hold_back_other_keys(wiring: _Wiring) -> None:
    """A failing message waits in the retry topic while later keys on its partition go ahead."""
    wiring.handler.fail_times["slow"] = 1
    await _publish_job(wiring, "slow", b"a")
    await _publish_job(wiring, "quick", b"b")
    await eventually(lambda: wiring.engine.outcomes[EnumDispatchOutcome.HANDLED] == 2)
    assert wiring.handler.calls == [("slow", 1), ("quick", 1), ("slow", 2)]


async def test_non_json_bytes_go_to_the_dlq_at_once(wiring: _Wiring) -> None:
    """Bytes that are not an envelope are dead-lettered on the first failure, never retried."""
    await wiring.bus.publish(wiring.topic, b"k", b"\xff not json")
    await _publish_job(wiring, "after", b"k")
    await eventually(lambda: wiring.dead and wiring.handler.calls)
    record = read_dlq_record(wiring.dead[0])
    assert record is not None
    assert record.error_type == "EnvelopeValidationError"
    assert record.attempts == 1
    assert wiring.dead[0].value == b"\xff not json"
    assert wiring.handler.calls == [("after", 1)]


async def test_dead_letter_is_never_dead_lettered_again(any_bus: EventBusBase) -> None:
    """A failing message of a DLQ topic ends as DLQ without a new DLQ record being published."""
    dlq_topic = dlq_topic_for("onex.evt.test.replayed.v1")
    published: list[BusMessage] = []

    async def on_dead(message: BusMessage) -> None:
        published.append(message)

    await any_bus.subscribe(dlq_topic, on_message=on_dead, group_id="dlq-watch")
    policy = RetryFailurePolicy(any_bus, SETTINGS)
    message = BusMessage(dlq_topic, None, b"x", {})
    outcome = await policy.on_failure(message, RuntimeError("boom"), consumer_group="g")
    await any_bus.publish(dlq_topic, None, b"marker")
    await eventually(lambda: published)
    assert outcome is EnumDispatchOutcome.DLQ
    assert [m.value for m in published] == [b"marker"]


async def test_an_outage_is_retried_past_max_attempts_until_it_ends(
    any_bus: EventBusBase, unique_topic: TopicFactory, mode: str
) -> None:
    """A job failing as an outage six times (max_attempts is 2) is retried until it succeeds."""
    async with _wired(any_bus, unique_topic(), OUTAGE, redeliver=mode == "redeliver") as wired:
        wired.handler.fail_times["db-down"] = 6
        wired.handler.outage.add("db-down")
        await _publish_job(wired, "db-down", b"k")
        await eventually(lambda: wired.engine.outcomes[EnumDispatchOutcome.HANDLED] == 1)
        assert wired.handler.calls == [("db-down", n) for n in range(1, 8)]
        assert wired.engine.outcomes[EnumDispatchOutcome.RETRY] == 6
        assert wired.dead == []


async def test_an_outage_longer_than_its_budget_is_dead_lettered(
    any_bus: EventBusBase, unique_topic: TopicFactory, mode: str
) -> None:
    """A job failing as an outage for longer than the budget is dead-lettered once it is spent,
    with every attempt and the whole span of its failures in the record, counted as outage
    retries and one dead letter of reason outage_exhausted."""
    settings = OUTAGE.model_copy(update={"outage_budget_seconds": 1.0})
    async with _wired(any_bus, unique_topic(), settings, redeliver=mode == "redeliver") as wired:
        wired.handler.fail_times["db-gone"] = 10_000
        wired.handler.outage.add("db-gone")
        await _publish_job(wired, "db-gone", b"k")
        await eventually(lambda: wired.dead)
        record = read_dlq_record(wired.dead[0])
        assert record is not None
        assert record.error_type == "InfraUnavailableError"
        assert record.attempts == len(wired.handler.calls) > settings.max_attempts
        span = (record.last_failure_at - record.first_failure_at).total_seconds()
        assert span >= settings.outage_budget_seconds
        dead = "onex_dispatch_dead_lettered_total"
        await eventually(lambda: _failures_counted(wired, dead, reason="outage_exhausted") == 1)
        retried = _failures_counted(wired, "onex_dispatch_retries_total", kind="outage")
        assert retried == record.attempts - 1


async def test_a_failure_that_is_not_an_outage_gets_max_attempts(
    any_bus: EventBusBase, unique_topic: TopicFactory, mode: str
) -> None:
    """A retriable failure that is not an outage is dead-lettered after max_attempts, even with
    a long outage budget; the retry and the dead letter are counted by kind and reason."""
    async with _wired(any_bus, unique_topic(), OUTAGE, redeliver=mode == "redeliver") as wired:
        wired.handler.fail_times["bug"] = 10_000
        await _publish_job(wired, "bug", b"k")
        await eventually(lambda: wired.dead)
        record = read_dlq_record(wired.dead[0])
        assert record is not None
        assert record.attempts == OUTAGE.max_attempts
        assert wired.handler.calls == [("bug", 1), ("bug", 2)]
        dead = "onex_dispatch_dead_lettered_total"
        await eventually(lambda: _failures_counted(wired, dead, reason="attempts_exhausted") == 1)
        assert _failures_counted(wired, "onex_dispatch_retries_total", kind="error") == 1


async def test_redelivery_in_place_holds_back_the_key(
    any_bus: EventBusBase, unique_topic: TopicFactory
) -> None:
    """Redelivered in place, a failing message keeps the messages of its key behind it."""
    async with _wired(any_bus, unique_topic(), OUTAGE, redeliver=True) as wired:
        wired.handler.fail_times["first"] = 2
        wired.handler.outage.add("first")
        await _publish_job(wired, "first", b"k")
        await _publish_job(wired, "second", b"k")
        await eventually(lambda: wired.engine.outcomes[EnumDispatchOutcome.HANDLED] == 2)
        assert wired.handler.calls == [("first", 1), ("first", 2), ("first", 3), ("second", 1)]

"""DeadLetterWriter: whole when it fits, smaller forms when refused as too large, bounded tries."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from uuid import uuid4

import pytest

from omnibase_infra.errors import InfraConnectionError, MessageTooLargeError
from omnibase_infra.event_bus.dlq import (
    DLQ_HEADER_BUDGET_BYTES,
    DLQ_VALUE_PREFIX_BYTES,
    ModelDlqRecord,
    build_dlq_message,
    read_dlq_record,
)
from omnibase_infra.event_bus.dlq_writer import DeadLetterWriter
from omnibase_infra.event_bus.headers import (
    HEADER_DLQ_RECORD,
    HEADER_REPLAY_COUNT,
    HEADER_REPLAY_OF,
)
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.observability.metrics import REGISTRY

TOPIC = "onex.evt.shop.order-placed.v1"
DLQ = "onex.dlq.shop.order-placed.v1"


class _RefusingBus(EventBusInmemory):
    """An in-memory bus that refuses what it is told to: values over a size, or everything."""

    def __init__(
        self, *, refuse_over: int | None = None, fail_times: int = 0, limit: int | None = None
    ) -> None:
        super().__init__(partitions=1, max_message_bytes=limit)
        self.refuse_over = refuse_over
        self.fail_times = fail_times
        self.tries = 0
        self.written: list[tuple[bytes, dict[str, str]]] = []

    async def publish(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Mapping[str, str] | None = None,  # type: ignore[override]
    ) -> None:
        self.tries += 1
        if self.fail_times:
            self.fail_times -= 1
            raise InfraConnectionError("broker unreachable", operation="publish")
        if self.refuse_over is not None and len(value) > self.refuse_over:
            raise MessageTooLargeError("too large", operation="publish")
        self.written.append((value, dict(headers or {})))


async def _no_sleep(_: float) -> None:
    return None


def _failed(value: bytes, headers: dict[str, str] | None = None) -> BusMessage:
    return BusMessage(TOPIC, b"k", value, headers or {}, 2, 41)


def _dead_letter(message: BusMessage) -> tuple[str, ModelDlqRecord, dict[str, str]]:
    return build_dlq_message(message, consumer_group="g", error=ValueError("bad"))


async def test_a_dead_letter_that_fits_goes_whole() -> None:
    """Under the bus limit the original bytes and headers go as they are, plus the record."""
    bus = EventBusInmemory(max_message_bytes=1 << 20)
    writer = DeadLetterWriter(bus, sleep=_no_sleep)
    seen: list[BusMessage] = []

    async def on_message(message: BusMessage) -> None:
        seen.append(message)

    await bus.subscribe(DLQ, on_message=on_message, group_id="r", auto_offset_reset="earliest")
    message = _failed(b"small", {"x": "y"})
    topic, record, headers = build_dlq_message(message, consumer_group="g", error=ValueError("v"))
    written = await writer.write(topic, message, record, headers)
    await bus.wait_idle()
    assert not written.value_truncated
    assert seen[0].value == b"small"
    assert seen[0].headers["x"] == "y"
    await bus.close()


async def test_a_refused_dead_letter_goes_by_reference_then_minimal() -> None:
    """Refused as too large, the dead letter is sent again as a prefix, then without a value;
    size refusals spend no try and the record keeps the original's size and digest."""
    value = b"v" * 50_000
    message = _failed(value, {"big": "h" * 40_000, "small": "s"})
    topic, record, headers = build_dlq_message(message, consumer_group="g", error=ValueError("v"))
    by_reference = _RefusingBus(refuse_over=DLQ_VALUE_PREFIX_BYTES + 1)
    written = await DeadLetterWriter(by_reference, attempts=1, sleep=_no_sleep).write(
        topic, message, record, headers
    )
    ((sent, sent_headers),) = by_reference.written
    assert sent == value[:DLQ_VALUE_PREFIX_BYTES]
    assert written.value_truncated
    assert written.headers_truncated
    assert written.value_bytes == len(value)
    assert written.value_sha256 == hashlib.sha256(value).hexdigest()
    assert (written.partition, written.offset) == (2, 41)
    assert sent_headers["small"] == "s"
    assert len(sent_headers["big"].encode()) < len(headers["big"])
    assert sum(len(k) + len(v) for k, v in sent_headers.items() if k != HEADER_DLQ_RECORD) <= (
        DLQ_HEADER_BUDGET_BYTES
    )
    minimal = _RefusingBus(refuse_over=0)
    await DeadLetterWriter(minimal, attempts=1, sleep=_no_sleep).write(
        topic, message, record, headers
    )
    ((sent, sent_headers),) = minimal.written
    assert sent == b""
    assert set(sent_headers) == {HEADER_DLQ_RECORD}


async def test_a_dead_letter_over_the_bus_limit_goes_by_reference_at_once() -> None:
    """A bus that states its limit gets the reference form first: nothing too large is sent."""
    bus = _RefusingBus(limit=10_000)  # states a limit, refuses nothing itself
    message = _failed(b"x" * 20_000)
    topic, record, headers = _dead_letter(message)
    written = await DeadLetterWriter(bus, sleep=_no_sleep).write(topic, message, record, headers)
    assert bus.tries == 1
    assert written.value_truncated


async def test_failing_writes_are_tried_a_bounded_number_of_times_then_alarm() -> None:
    """A DLQ that stays down gets ``attempts`` tries, then the error is raised and counted."""
    bus = _RefusingBus(fail_times=100)
    message = _failed(b"x")
    topic, record, headers = _dead_letter(message)
    before = REGISTRY.get_sample_value("onex_dlq_write_failures_total", {"topic": TOPIC}) or 0.0
    with pytest.raises(InfraConnectionError):
        await DeadLetterWriter(bus, attempts=3, sleep=_no_sleep).write(
            topic, message, record, headers
        )
    assert bus.tries == 3
    after = REGISTRY.get_sample_value("onex_dlq_write_failures_total", {"topic": TOPIC})
    assert after == before + 1


async def test_a_write_that_fails_once_succeeds_on_the_next_try() -> None:
    """A passing failure costs one more try, not the dead letter."""
    bus = _RefusingBus(fail_times=1)
    message = _failed(b"x")
    topic, record, headers = _dead_letter(message)
    await DeadLetterWriter(bus, attempts=3, sleep=_no_sleep).write(topic, message, record, headers)
    assert bus.tries == 2
    assert len(bus.written) == 1


def test_a_replayed_message_keeps_its_record_id_and_counts_the_replay() -> None:
    """A failing replay updates the record it came from (same id, replay count) instead of
    becoming a new original."""
    original = uuid4()
    replayed = _failed(b"x", {HEADER_REPLAY_OF: str(original), HEADER_REPLAY_COUNT: "2"})
    _, record, headers = build_dlq_message(replayed, consumer_group="g", error=ValueError("v"))
    assert record.record_id == original
    assert record.replay_count == 2
    parsed = read_dlq_record(BusMessage(DLQ, None, b"", headers))
    assert parsed == record
    fresh = build_dlq_message(_failed(b"x"), consumer_group="g", error=ValueError("v"))[1]
    assert fresh.record_id != original
    assert fresh.replay_count == 0
    bogus = _failed(b"x", {HEADER_REPLAY_OF: "not-a-uuid" * 1000})
    assert build_dlq_message(bogus, consumer_group="g", error=ValueError("v"))[1].replay_count == 0

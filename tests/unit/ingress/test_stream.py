"""The ingress's topic streams on the real in-memory bus: events framed as they arrive, a
client that falls ``stream_queue_events`` behind dropped with a note while the bus goes on,
open streams ended when the ingress closes, and their number bounded."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.ingress.errors import IngressRequestError
from omnibase_infra.ingress.stream import TopicStreams

TOPIC = "onex.evt.tests.streamed.v1"


def _parse(frame: bytes) -> tuple[str, dict[str, object]]:
    """A frame's event name (``message`` for a data frame) and its data."""
    event, data = "message", {}
    for line in frame.decode().splitlines():
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: "):
            data = json.loads(line[len("data: ") :])
    return event, data


async def _all(frames: AsyncIterator[bytes]) -> list[tuple[str, dict[str, object]]]:
    return [_parse(frame) async for frame in frames]


async def test_a_slow_client_is_dropped_with_a_note_and_the_bus_goes_on() -> None:
    """Five events into a stream that queues two, its client not reading: every publish
    returns and the stream's group is caught up (the bus never waited for it); the client
    then gets the two queued events and a ``dropped`` note naming the setting, and its stream
    ends."""
    bus = EventBusInmemory(capacity=3)
    streams = TopicStreams(bus, max_streams=4, max_queued=2)
    frames = await streams.open(TOPIC, from_beginning=False)
    for index in range(5):
        await bus.publish(TOPIC, b"one-key", json.dumps({"n": index}).encode(), {})
    await bus.wait_idle()
    got = await _all(frames)
    assert [event for event, _ in got] == ["subscribed", "message", "message", "dropped"]
    assert [data["value"] for _, data in got[1:3]] == [{"n": 0}, {"n": 1}]
    assert "ingress.stream_queue_events" in str(got[3][1]["reason"])
    await bus.close()


async def test_from_beginning_starts_at_what_the_bus_holds() -> None:
    """An event published before the stream opened is its first with ``from_beginning``."""
    bus = EventBusInmemory()
    await bus.publish(TOPIC, b"k", b'{"early": true}', {"onex-payload-type": "ModelEarly"})
    streams = TopicStreams(bus, max_streams=4, max_queued=10)
    frames = await streams.open(TOPIC, from_beginning=True)
    assert _parse(await anext(frames))[0] == "subscribed"
    event, data = _parse(await anext(frames))
    assert event == "message"
    assert data["value"] == {"early": True}
    assert data["key"] == "k"
    assert data["headers"] == {"onex-payload-type": "ModelEarly"}
    await frames.aclose()
    await bus.close()


async def test_closing_ends_open_streams_and_refuses_new_ones() -> None:
    """``close`` ends an open stream with ``end`` after what was queued and leaves its group;
    a stream opened after is refused with 503."""
    bus = EventBusInmemory()
    streams = TopicStreams(bus, max_streams=4, max_queued=10)
    frames = await streams.open(TOPIC, from_beginning=False)
    await bus.publish(TOPIC, None, b"{}", {})
    await bus.wait_idle()
    streams.close()
    got = await _all(frames)
    await streams.wait_left()
    assert [event for event, _ in got] == ["subscribed", "message", "end"]
    assert bus.consumer_positions() == []
    with pytest.raises(IngressRequestError) as refused:
        await streams.open(TOPIC, from_beginning=False)
    assert refused.value.status == 503
    await bus.close()


async def test_the_number_of_streams_is_bounded() -> None:
    """A stream past ``max_streams`` is refused with 503 naming the setting."""
    bus = EventBusInmemory()
    streams = TopicStreams(bus, max_streams=1, max_queued=10)
    await streams.open(TOPIC, from_beginning=False)
    with pytest.raises(IngressRequestError) as refused:
        await streams.open(TOPIC, from_beginning=False)
    assert refused.value.status == 503
    assert "ingress.max_streams" in refused.value.message
    streams.close()
    await bus.close()

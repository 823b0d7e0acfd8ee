"""What ``onex-infra tail`` does: a topic's events as they arrive, through the ingress or
straight from Kafka.

Through the ingress, ``GET /v1/events/{topic}/stream`` (server-sent events, under the ingress's
auth and topic rules): the runtime's bus is whichever it runs, in-memory included. Straight
from Kafka, a consumer that only assigns the topic's partitions (at their current ends, or
their earliest offsets) and never commits: tailing leaves no trace on the cluster.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition
from httpx_sse import aconnect_sse

from omnibase_infra.cli.send import refusal_of
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import InfraConnectionError, ModelInfraErrorContext
from omnibase_infra.event_bus.kafka.assigned_reader import KafkaAssignedReader
from omnibase_infra.event_bus.kafka.consumer import decode_headers
from omnibase_infra.event_bus.kafka.errors import translate_kafka_error
from omnibase_infra.event_bus.kafka.model_kafka_settings import ModelKafkaSettings
from omnibase_infra.event_bus.topics import parse_topic
from omnibase_infra.ingress.model_stream_event import ModelStreamEvent, stream_event_of
from omnibase_infra.ingress.stream import KEEPALIVE_SECONDS
from omnibase_infra.runtime.secrets import resolve_secret

__all__ = ["OnEvent", "OnNote", "tail_ingress", "tail_kafka"]

OnEvent = Callable[[ModelStreamEvent], None]
OnNote = Callable[[str], None]
_TIMEOUT_SECONDS = 10.0
_PROBE_SECONDS = 5.0
_POLL_SECONDS = 0.5
_UNKNOWN_TOPIC = (
    "note: no node of this runtime subscribes or publishes to {topic} and it holds no event: "
    "check the name (still waiting, in case events come)"
)


async def tail_ingress(
    topic: str,
    url: str,
    *,
    token: str | None,
    from_beginning: bool,
    limit: int | None,
    on_note: OnNote,
    on_event: OnEvent,
) -> str | None:
    """Hand each event of the ingress's stream of ``topic`` to ``on_event`` until ``limit``
    events (None: no end); the reason when the ingress ended the stream first.

    Raises ``IngressRequestError`` when refused, ``InfraConnectionError`` when unreachable.
    """
    headers = {"accept": "text/event-stream"}
    if token is not None:
        headers["authorization"] = f"Bearer {(await resolve_secret(token)).get_secret_value()}"
    params = {"from_beginning": "true"} if from_beginning else {}
    # The ingress sends a keep-alive every KEEPALIVE_SECONDS: silence far past it is a dead peer.
    timeout = httpx.Timeout(_TIMEOUT_SECONDS, read=3 * KEEPALIVE_SECONDS)
    seen = 0
    async with httpx.AsyncClient(base_url=url, timeout=timeout, trust_env=False) as client:
        try:
            path = f"/v1/events/{topic}/stream"
            async with aconnect_sse(client, "GET", path, params=params, headers=headers) as source:
                if source.response.status_code != 200:
                    await source.response.aread()
                    raise refusal_of(source.response)
                async for frame in source.aiter_sse():
                    if frame.event == "subscribed":
                        on_note(f"tailing {topic} through {url} (Ctrl-C to stop)")
                        if json.loads(frame.data).get("known") is False:
                            on_note(_UNKNOWN_TOPIC.format(topic=topic))
                    elif frame.event in ("dropped", "end"):
                        return str(json.loads(frame.data).get("reason", frame.event))
                    else:
                        on_event(ModelStreamEvent.model_validate_json(frame.data))
                        seen += 1
                        if limit is not None and seen >= limit:
                            return None
        except httpx.HTTPError as exc:
            what = "cannot reach" if isinstance(exc, httpx.ConnectError) else "lost"
            raise InfraConnectionError(
                f"{what} the ingress at {url}: {type(exc).__name__} (is `onex-infra run` serving, "
                "and ingress.port the one given?)",
                context=ModelInfraErrorContext(
                    transport_type=EnumInfraTransportType.HTTP, operation="tail", target_name=url
                ),
            ) from None
    return "the ingress closed the stream"


def tail_kafka(
    topic: str,
    settings: ModelKafkaSettings,
    *,
    from_beginning: bool,
    limit: int | None,
    on_note: OnNote,
    on_event: OnEvent,
) -> None:
    """Hand each event of ``topic`` on the brokers to ``on_event`` until ``limit`` events (None:
    until interrupted). Blocking; waits for the topic to exist. Nothing is committed."""
    parse_topic(topic)
    reader = KafkaAssignedReader(settings, purpose="tail", operation="tail")
    try:
        reader.probe(_PROBE_SECONDS)
        partitions, waited = _partitions(reader, topic, on_note)
        consumer = reader.consumer
        starts = [
            TopicPartition(
                topic,
                partition,
                # A topic waited for holds only what came after the tail started: all of it.
                # Else the end as it is now, not OFFSET_END: that is resolved later, when the
                # first fetch starts, and an event sent meanwhile would be missed.
                OFFSET_BEGINNING
                if from_beginning or waited
                else consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=_TIMEOUT_SECONDS
                )[1],
            )
            for partition in partitions
        ]
        consumer.assign(starts)
        on_note(f"tailing {topic} on {settings.bootstrap_servers} (Ctrl-C to stop)")
        seen = 0
        while limit is None or seen < limit:
            for message in consumer.consume(100, _POLL_SECONDS):
                error = message.error()
                if error is not None:
                    if error.fatal():
                        raise KafkaException(error)
                    continue
                _, millis = message.timestamp()
                on_event(
                    stream_event_of(
                        topic,
                        message.partition() or 0,
                        message.offset() or 0,
                        millis / 1000 if millis > 0 else None,
                        message.key(),
                        message.value() or b"",
                        decode_headers(message),
                    )
                )
                seen += 1
                if limit is not None and seen >= limit:
                    break
    except KafkaException as exc:
        raise translate_kafka_error(exc, "tail") from exc
    finally:
        reader.close()


def _partitions(reader: KafkaAssignedReader, topic: str, on_note: OnNote) -> tuple[list[int], bool]:
    """The topic's partitions once it exists, and whether it had to be waited for (said once
    while waiting)."""
    waiting = False
    while True:
        found = reader.consumer.list_topics(topic, timeout=_TIMEOUT_SECONDS).topics.get(topic)
        error = None if found is None else found.error
        if found is not None and found.partitions and error is None:
            return sorted(found.partitions), waiting
        if error is not None and error.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
            raise KafkaException(error)
        if not waiting:
            on_note(
                f"waiting for {topic} to exist on {reader.settings.bootstrap_servers} "
                "(its first event will be shown)"
            )
            waiting = True
        time.sleep(_POLL_SECONDS)

"""What every bus shares: envelope publishing, commands, consumer-group naming, header handling."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, JsonValue

from omnibase_infra._core import EnumConsumerGroupPurpose, compute_consumer_group_id
from omnibase_infra.enums import EnumTopicKind
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.event_bus.codec import JsonEnvelope, encode_envelope, envelope_headers
from omnibase_infra.event_bus.headers import HEADER_CORRELATION_ID, HEADER_ENVELOPE_ID
from omnibase_infra.event_bus.lag_metrics import track_consumer_positions
from omnibase_infra.event_bus.message import MessageCallback
from omnibase_infra.event_bus.model_bus_stop_report import ModelBusStopReport
from omnibase_infra.event_bus.model_consumer_position import ModelConsumerPosition
from omnibase_infra.event_bus.topics import build_topic

if TYPE_CHECKING:
    from omnibase_core.types.typed_dict.typed_dict_event_bus_health import (
        TypedDictEventBusHealth,
    )

    from omnibase_infra._core import (
        ModelEventEnvelope,
        ProtocolEventBusHeaders,
        ProtocolNodeIdentity,
    )

__all__ = ["EventBusBase", "OffsetReset", "Unsubscribe", "normalize_headers"]

OffsetReset = Literal["earliest", "latest"]
Unsubscribe = Callable[[], Awaitable[None]]


def normalize_headers(
    headers: Mapping[str, str] | ProtocolEventBusHeaders | None,
) -> dict[str, str]:
    """Turn a header mapping, or core's header object, into the wire's string headers."""
    if headers is None:
        return {}
    if type(headers) is dict:  # the common case, without the ABC check of Mapping
        return headers.copy()
    if isinstance(headers, Mapping):
        return dict(headers)
    wire = {
        HEADER_CORRELATION_ID: str(headers.correlation_id),
        HEADER_ENVELOPE_ID: str(headers.message_id),
        "onex-source": headers.source,
        "onex-event-type": headers.event_type,
    }
    if headers.partition_key:
        wire["onex-partition-key"] = headers.partition_key
    return wire


class EventBusBase(ABC):
    """Base of the in-memory and Kafka buses (core's ``ProtocolEventBus`` shape)."""

    def __init__(self, *, environment: str = "local", group: str = "default") -> None:
        self._environment = environment
        self._group = group
        track_consumer_positions(self)

    @property
    def environment(self) -> str:
        """The environment this bus serves (dev, staging, prod, local)."""
        return self._environment

    @property
    def group(self) -> str:
        """The node group this bus belongs to."""
        return self._group

    @property
    def max_message_bytes(self) -> int | None:
        """The largest message ``publish`` accepts (key, value and headers); None: no limit."""
        return None

    def consumer_positions(self) -> list[ModelConsumerPosition]:
        """Where each of this process's consumer groups stands on each partition it holds."""
        return []

    @property
    def adapter(self) -> EventBusBase:
        """The low-level adapter: the bus itself (it owns its client)."""
        return self

    @abstractmethod
    async def publish(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Mapping[str, str] | ProtocolEventBusHeaders | None = None,
    ) -> None:
        """Publish raw bytes to a topic; returns once the message is durable on the bus."""

    async def publish_batch(
        self,
        topic: str,
        records: Sequence[tuple[bytes | None, bytes, Mapping[str, str] | None]],
    ) -> None:
        """Publish ``records`` (key, value, headers) in order; returns once all are durable.

        A bus that can await many acknowledgements at once (Kafka) overrides this.
        """
        for key, value, headers in records:
            await self.publish(topic, key, value, headers)

    @abstractmethod
    async def subscribe(
        self,
        topic: str,
        node_identity: ProtocolNodeIdentity | None = None,
        on_message: MessageCallback | None = None,
        *,
        purpose: EnumConsumerGroupPurpose = EnumConsumerGroupPurpose.CONSUME,
        group_id: str | None = None,
        auto_offset_reset: OffsetReset = "latest",
        in_flight_per_partition: int | None = None,
    ) -> Unsubscribe:
        """Join a consumer group on ``topic``; returns a coroutine function that leaves it.

        ``in_flight_per_partition`` overrides the bus's setting for this group (1: strictly in
        partition order); a subscriber whose callbacks never wait gains nothing from more.
        """

    async def subscribe_group(
        self,
        callbacks: Mapping[str, MessageCallback],
        *,
        group_id: str,
        auto_offset_reset: OffsetReset = "latest",
        in_flight_per_partition: int | None = None,
    ) -> Unsubscribe:
        """Join ``group_id`` on every topic of ``callbacks``, each topic's messages going to its
        callback; returns once the group consumes them all, with one coroutine that leaves.

        A subscriber of several topics is one group: the Kafka bus runs it as one member (one
        join, not one per topic); this default subscribes topic by topic.
        """
        unsubscribers: list[Unsubscribe] = []
        try:
            for topic, callback in callbacks.items():
                unsubscribers.append(
                    await self.subscribe(
                        topic,
                        on_message=callback,
                        group_id=group_id,
                        auto_offset_reset=auto_offset_reset,
                        in_flight_per_partition=in_flight_per_partition,
                    )
                )
        except BaseException:
            for unsubscribe in reversed(unsubscribers):
                await unsubscribe()
            raise

        async def unsubscribe_all() -> None:
            for unsubscribe in unsubscribers:
                await unsubscribe()

        return unsubscribe_all

    @abstractmethod
    async def start(self) -> None:
        """Connect and get ready to publish."""

    @abstractmethod
    async def close(self) -> None:
        """Stop consuming (finishing in-flight messages), flush and release resources."""

    @abstractmethod
    async def health_check(self) -> TypedDictEventBusHealth:
        """Report whether the bus is connected and how much is pending."""

    async def pending_messages(self) -> int:
        """Messages accepted and not yet done, without a round trip to a broker."""
        return int((await self.health_check()).get("pending_messages", 0) or 0)

    def stop_report(self) -> ModelBusStopReport:
        """What stopping left behind so far (a bus that cannot leave anything: all zero)."""
        return ModelBusStopReport()

    async def shutdown(self) -> None:
        """Graceful shutdown (same as ``close``)."""
        await self.close()

    async def start_consuming(self) -> None:
        """Consumers run from the moment they subscribe; this only ensures the bus started."""
        await self.start()

    async def publish_envelope(
        self,
        envelope: ModelEventEnvelope[BaseModel] | JsonEnvelope,
        topic: str,
        key: bytes | None = None,
    ) -> None:
        """Publish an envelope as JSON, with its ids and payload type in the headers."""
        await self.publish(topic, key, encode_envelope(envelope), envelope_headers(envelope))

    async def broadcast_to_environment(
        self,
        command: str,
        payload: dict[str, JsonValue],
        target_environment: str | None = None,
    ) -> None:
        """Publish a command to every node of an environment."""
        env = target_environment or self._environment
        body = json.dumps({"command": command, "payload": payload}).encode()
        await self.publish(build_topic(EnumTopicKind.CMD, env, "broadcast"), None, body)

    async def send_to_group(
        self, command: str, payload: dict[str, JsonValue], target_group: str
    ) -> None:
        """Publish a command to one node group of this environment."""
        body = json.dumps({"command": command, "payload": payload}).encode()
        topic = build_topic(EnumTopicKind.CMD, target_group, "group-command")
        await self.publish(topic, None, body)

    @staticmethod
    def consumer_group_id(
        node_identity: ProtocolNodeIdentity | None,
        purpose: EnumConsumerGroupPurpose,
        group_id: str | None,
    ) -> str:
        """The consumer group to join: explicit ``group_id``, else derived as core derives it."""
        if group_id is not None:
            return group_id
        if node_identity is None:
            raise ProtocolConfigurationError(
                "subscribe() needs a node identity or an explicit group_id", field="group_id"
            )
        return compute_consumer_group_id(
            env=node_identity.env,
            service=node_identity.service,
            node_name=node_identity.node_name,
            version=node_identity.version,
            purpose=purpose,
        )

"""A runtime host on the in-memory bus for adapter node tests and benchmarks: commands in,
result events (or dead letters) out.

``adapter_host(contract_dirs, services=...)`` starts a ``RuntimeHostProcess`` on the given
contract directories (no entry points, no embedded server: the test hands in the technology
handlers it started against its real server), and its ``request`` publishes one command and
returns the first message it caused on a watched topic (its result, its failure event or its
dead letter).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from uuid import UUID, uuid4

from pydantic import BaseModel, JsonValue

from omnibase_infra.event_bus.codec import JsonEnvelope, decode_envelope, encode_new_envelope
from omnibase_infra.event_bus.dlq import read_dlq_record
from omnibase_infra.event_bus.headers import HEADER_ENVELOPE_ID
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.event_bus.topics import dlq_topic_for
from omnibase_infra.handlers.protocol_infra_handler import ProtocolInfraHandler
from omnibase_infra.resilience.idempotency.protocol_idempotency_store import (
    ProtocolIdempotencyStore,
)
from omnibase_infra.resilience.idempotency.store_memory import IdempotencyStoreInmemory
from omnibase_infra.runtime.config import ModelRuntimeConfig, load_runtime_config
from omnibase_infra.runtime.host import RuntimeHostProcess

__all__ = ["AdapterHarness", "ModelAdapterReply", "adapter_config", "adapter_host"]

_OBSERVER_GROUP = "adapter-test-observer"


class ModelAdapterReply(BaseModel):
    """What a command caused: the topic, the decoded envelope, the dead letter's error type."""

    topic: str
    envelope: JsonEnvelope
    dlq_error_type: str | None = None
    dlq_error_message: str | None = None

    @property
    def payload(self) -> JsonValue:
        """The reply's payload as JSON."""
        return self.envelope.payload

    def get(self, name: str) -> JsonValue:
        """One field of the reply's payload (an object)."""
        payload = self.envelope.payload
        assert isinstance(payload, dict), payload
        return payload[name]


def adapter_config(contract_dirs: Sequence[Path], **overrides: JsonValue) -> ModelRuntimeConfig:
    """A runtime config loading only ``contract_dirs``: hub on a free port, DLQ at once."""
    values: dict[str, JsonValue] = {
        "contract_dirs": [str(directory) for directory in contract_dirs],
        "use_entry_points": False,
        "http": {"port": 0},
        "postgres": {"mode": "disabled"},
        "event_bus": {"retry": None},
        "log_level": "WARNING",
    }
    values.update(overrides)
    return load_runtime_config(None, **values)


class AdapterHarness:
    """The started host, its bus, and the replies seen on the watched topics."""

    def __init__(self, host: RuntimeHostProcess) -> None:
        assert isinstance(host.bus, EventBusInmemory)
        self.host = host
        self.bus: EventBusInmemory = host.bus
        self._waiting: dict[UUID, asyncio.Future[ModelAdapterReply]] = {}
        self._watched: set[str] = set()

    async def watch(self, *topics: str) -> None:
        """Observe ``topics`` (result topics, DLQ topics) from their beginning."""
        for topic in topics:
            if topic in self._watched:
                continue
            self._watched.add(topic)
            await self.bus.subscribe(
                topic,
                on_message=self._observe,
                group_id=f"{_OBSERVER_GROUP}.{topic}",
                auto_offset_reset="earliest",
            )

    async def request(
        self,
        topic: str,
        payload: BaseModel,
        *,
        key: bytes | None = None,
        within: float = 30.0,
    ) -> ModelAdapterReply:
        """Publish ``payload`` on ``topic``; the first reply it caused (result or dead letter)."""
        await self.watch(dlq_topic_for(topic))
        # Encoded as the runtime's emitter encodes what it publishes (no core model per call).
        value, headers = encode_new_envelope(
            payload, correlation_id=uuid4(), producer="adapter-test"
        )
        envelope_id = UUID(headers[HEADER_ENVELOPE_ID])
        reply: asyncio.Future[ModelAdapterReply] = asyncio.get_running_loop().create_future()
        self._waiting[envelope_id] = reply
        try:
            await self.bus.publish(topic, key, value, headers)
            async with asyncio.timeout(within):
                return await reply
        finally:
            self._waiting.pop(envelope_id, None)

    async def _observe(self, message: BusMessage) -> None:
        record = read_dlq_record(message)
        envelope = decode_envelope(message.value)  # a dead letter carries the command itself
        cause = record.envelope_id if record is not None else envelope.parent_envelope_id
        waiting = self._waiting.get(cause) if cause is not None else None
        if waiting is not None and not waiting.done():
            waiting.set_result(
                ModelAdapterReply(
                    topic=message.topic,
                    envelope=envelope,
                    dlq_error_type=record.error_type if record else None,
                    dlq_error_message=record.error_message if record else None,
                )
            )


@asynccontextmanager
async def adapter_host(
    contract_dirs: Sequence[Path],
    *,
    services: Mapping[type[object], object],
    handlers: Sequence[ProtocolInfraHandler] = (),
    **overrides: JsonValue,
) -> AsyncIterator[AdapterHarness]:
    """A started host on ``contract_dirs`` with ``services`` in its container (an in-memory
    idempotency store unless given); stopped after."""
    wired: dict[type[object], object] = {ProtocolIdempotencyStore: IdempotencyStoreInmemory()}
    wired.update(services)
    host = RuntimeHostProcess(
        adapter_config(contract_dirs, **overrides), handlers=handlers, services=wired
    )
    await host.start()
    try:
        yield AdapterHarness(host)
    finally:
        await host.stop()

"""What the declarative unit tests share: contracts written to disk and loaded like any
other, and a dispatch engine on the in-memory bus with helpers to send and watch."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from uuid import uuid4

from pydantic import BaseModel

from omnibase_infra.dispatch.engine import MessageDispatchEngine
from omnibase_infra.dispatch.route import DispatchRoute
from omnibase_infra.event_bus.codec import JsonEnvelope, encode_envelope
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.event_bus.topics import dlq_topic_for
from omnibase_infra.runtime.contracts.contract_loader import load_contract
from omnibase_infra.runtime.contracts.model_node_contract import ModelNodeContract
from omnibase_infra.runtime.contracts.plugin_loader import DEFAULT_ALLOWLIST

V = "{major: 1, minor: 0, patch: 0}"


def contract(tmp_path: Path, text: str, name: str = "contract") -> ModelNodeContract:
    """``text`` written as ``<name>/contract.yaml`` under ``tmp_path`` and loaded."""
    path = tmp_path / name / "contract.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return load_contract(path, allowlist=DEFAULT_ALLOWLIST)


class Harness:
    """A started in-memory bus and dispatch engine with the given routes."""

    def __init__(self, bus: EventBusInmemory, routes: list[DispatchRoute]) -> None:
        self.bus = bus
        self.engine = MessageDispatchEngine(bus)
        for route in routes:
            self.engine.add_route(route)

    async def watch(self, topic: str) -> list[BusMessage]:
        """Every message on ``topic``, from the earliest, in a group of its own."""
        seen: list[BusMessage] = []

        async def record(message: BusMessage) -> None:
            seen.append(message)

        await self.bus.subscribe(
            topic, on_message=record, group_id=f"watch-{uuid4().hex}", auto_offset_reset="earliest"
        )
        return seen

    async def watch_dlq(self, topic: str) -> list[BusMessage]:
        """Every dead letter of ``topic``."""
        return await self.watch(dlq_topic_for(topic))

    async def send(
        self, topic: str, payload: BaseModel | dict[str, object], key: str | None, kind: str
    ) -> None:
        """Publish ``payload`` as payload type ``kind`` on ``topic`` with ``key``."""
        data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
        envelope = JsonEnvelope(payload=data, payload_type=kind)  # type: ignore[arg-type]
        headers = {"onex-envelope-id": str(envelope.envelope_id), "onex-payload-type": kind}
        raw_key = None if key is None else key.encode()
        await self.bus.publish(topic, raw_key, encode_envelope(envelope), headers)

    async def settle(self) -> None:
        """Wait until every group consumed everything (outputs of a hop are the next inputs)."""
        for _ in range(3):
            await self.bus.wait_idle()
            await asyncio.sleep(0)


def payloads(messages: list[BusMessage]) -> list[dict[str, object]]:
    """The envelope payloads of ``messages``."""
    result: list[dict[str, object]] = []
    for message in messages:
        payload = json.loads(message.value)["payload"]
        assert isinstance(payload, dict)
        result.append(payload)
    return result

"""A fleet of simulated nodes registering through the bus, as a stream at a chosen rate.

``ChaosFleet`` builds ``size`` ``NodeRegistrationClient``s (one ``NodeFleet`` routes the
registry's answers to them: accepted -> ack, became-active, request-introspection -> introspect
again) on the bus it is given (the Kafka bus of the test process, or the runtime's in-memory
bus). ``stream(rate)`` starts the nodes one after another: each publishes its introspection and
then heartbeats every ``heartbeat_seconds``. A node counts as *sent* once the bus acknowledged
its introspection; a publish that fails (the broker is paused) is tried again until it is
acknowledged, as a node retries its start-up announcement. Every node of a fleet registers
under one service name, so discovery holds them as instances of one service.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from uuid import UUID, uuid4

from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.nodes.registration.client import (
    ModelNodeDescription,
    NodeFleet,
    NodeRegistrationClient,
)

__all__ = ["ChaosFleet"]

_PUBLISH_RETRY_SECONDS = 0.5


class ChaosFleet:
    """Simulated nodes introspecting at a rate, then heartbeating (see module docstring)."""

    def __init__(
        self,
        bus: EventBusBase,
        size: int,
        *,
        service_name: str = "chaos-node",
        heartbeat_seconds: float = 5.0,
    ) -> None:
        self.service_name = service_name
        self._fleet = NodeFleet(bus, group_id=f"chaos-fleet-{uuid4().hex[:8]}")
        self.clients: list[NodeRegistrationClient] = []
        for index in range(size):
            description = ModelNodeDescription(
                node_name=service_name,
                node_type=("effect", "compute", "reducer", "orchestrator")[index % 4],
                capability="chaos.capability",
                health_endpoint=f"http://127.0.0.1:{20000 + index % 40000}/health",
            )
            client = NodeRegistrationClient(
                bus, description, heartbeat_interval_seconds=heartbeat_seconds
            )
            self.clients.append(self._fleet.add(client))
        self.sent = 0
        self.publish_failures = 0
        self._stream: asyncio.Task[None] | None = None
        self._progress = asyncio.Event()

    @property
    def node_ids(self) -> list[UUID]:
        """Every node of the fleet, sent or not."""
        return [client.node_id for client in self.clients]

    @property
    def sent_ids(self) -> list[UUID]:
        """The nodes whose introspection the bus acknowledged."""
        return [client.node_id for client in self.clients[: self.sent]]

    async def listen(self) -> None:
        """Subscribe to the registry's answers (accepted, became-active, request-introspection)."""
        await self._fleet.listen()

    def start_stream(self, rate_per_second: float) -> asyncio.Task[None]:
        """Start the nodes in the background, ``rate_per_second`` of them per second."""
        self._stream = asyncio.create_task(self.stream(rate_per_second), name="chaos-stream")
        return self._stream

    async def stream(self, rate_per_second: float) -> None:
        """Start every node, paced at ``rate_per_second``; returns once all were sent."""
        interval = 1.0 / rate_per_second
        began = time.monotonic()
        for index, client in enumerate(self.clients):
            delay = began + index * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            while True:
                try:
                    await client.start()
                except Exception:  # the bus is unavailable: a node tries again
                    self.publish_failures += 1
                    await asyncio.sleep(_PUBLISH_RETRY_SECONDS)
                    continue
                break
            self.sent += 1
            self._progress.set()

    async def wait_sent_at_least(self, count: int) -> None:
        """Wait until ``count`` nodes were sent (to land a fault mid-stream)."""
        while self.sent < count:
            self._progress.clear()
            await self._progress.wait()

    async def wait_sent(self) -> None:
        """Wait until the stream has sent every node."""
        if self._stream is not None:
            await self._stream

    async def close(self, *, announce_shutdown: bool = False) -> None:
        """Stop the stream and the heartbeats (with a shutdown announcement if asked) and leave
        the subscriptions."""
        if self._stream is not None and not self._stream.done():
            self._stream.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stream
        for client in self.clients[: self.sent]:
            with contextlib.suppress(Exception):
                await client.stop(announce=announce_shutdown)
        await self._fleet.close()

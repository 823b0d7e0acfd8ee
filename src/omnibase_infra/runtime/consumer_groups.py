"""The runtime's consumer groups: each node's group and its retry group, joined all at once.

A join on Kafka is a broker round of seconds (Tansu holds every JoinGroup for half the session
timeout), so the groups join concurrently and a start waits for the slowest one, not for their
sum. ``pending`` names the groups not joined yet (``/ready`` shows them while starting).

``runtime.expected_groups`` predicts those groups from the contracts' YAML alone, so a Kafka
runtime can begin joining them while the rest of its start runs (``EventBusKafka.join_early``);
the real join adopts each early member that matches.
"""

from __future__ import annotations

import asyncio

from omnibase_infra.dispatch.engine import MessageDispatchEngine
from omnibase_infra.dispatch.failure_policy import RetryFailurePolicy
from omnibase_infra.dispatch.retry_consumer import RetryConsumer
from omnibase_infra.event_bus.base import EventBusBase

__all__ = ["ConsumerGroups"]


class ConsumerGroups:
    """Joins and leaves the engine's node groups and, when its failure policy retries through
    retry topics, their retry groups (one per node, over the retry topics of all its topics)."""

    def __init__(self, bus: EventBusBase, engine: MessageDispatchEngine) -> None:
        self._bus = bus
        self._engine = engine
        self._retrying: set[str] = set()
        self._joined_retries: list[RetryConsumer] = []

    @property
    def retry_groups(self) -> set[str]:
        """The retry groups joined (they hold each message until it is due)."""
        return {consumer.retry_group for consumer in self._joined_retries}

    @property
    def pending(self) -> list[str]:
        """The groups not joined yet."""
        return [*self._engine.pending_groups, *sorted(self._retrying)]

    async def join(self) -> int:
        """Join every group at once; returns how many. The first failure is raised as is."""
        policy = self._engine.failure_policy
        consumers = (
            [
                RetryConsumer(
                    self._bus,
                    self._engine,
                    topics=topics,
                    consumer_group=group,
                    settings=policy.settings,
                    report=policy.report,
                )
                for group, topics in self._engine.groups.items()
            ]
            # A policy that redelivers in place (the in-memory bus) needs no retry topics.
            if isinstance(policy, RetryFailurePolicy) and not policy.redelivers
            else []
        )
        self._retrying = {consumer.retry_group for consumer in consumers}
        try:
            async with asyncio.TaskGroup() as joins:
                joins.create_task(self._engine.start())
                for consumer in consumers:
                    joins.create_task(self._join_retries(consumer))
        except BaseExceptionGroup as group:
            raise group.exceptions[0] from None  # the first failed join says what failed
        return len(self._engine.groups) + len(consumers)

    async def _join_retries(self, consumer: RetryConsumer) -> None:
        await consumer.start()
        self._joined_retries.append(consumer)
        self._retrying.discard(consumer.retry_group)

    async def leave(self) -> None:
        """Leave every group at once; returns once their in-flight messages finished."""
        await asyncio.gather(
            self._engine.stop(), *(consumer.stop() for consumer in self._joined_retries)
        )

    async def close(self) -> None:
        """Leave whatever is still joined and forget the retry groups (idempotent)."""
        consumers, self._joined_retries = self._joined_retries, []
        await asyncio.gather(self._engine.stop(), *(consumer.stop() for consumer in consumers))

"""The runtime's consumer groups: each node's group and its retry group, joined all at once.

A join on Kafka is a broker round of seconds (Tansu holds every JoinGroup for half the session
timeout), so the groups join concurrently and a start waits for the slowest one, not for their
sum. ``pending`` names the groups not joined yet (``/ready`` shows them while starting).

``expected_groups`` predicts those groups from the contracts' YAML alone (no core model, no
handler import), so a Kafka runtime can begin joining them while the rest of its start runs
(``EventBusKafka.join_early``); the real join adopts each early member that matches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from pydantic import JsonValue, ValidationError

from omnibase_infra._core import EnumConsumerGroupPurpose
from omnibase_infra.dispatch.engine import MessageDispatchEngine
from omnibase_infra.dispatch.failure_policy import RetryFailurePolicy, retry_topic_for
from omnibase_infra.dispatch.retry_consumer import RetryConsumer
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.event_bus.base import EventBusBase, OffsetReset
from omnibase_infra.models.model_node_identity import ModelNodeIdentity
from omnibase_infra.runtime.config import ModelRuntimeConfig
from omnibase_infra.runtime.contracts.contract_loader import discover_contract_files
from omnibase_infra.runtime.contracts.plugin_loader import DEFAULT_ALLOWLIST
from omnibase_infra.runtime.safe_yaml import load_yaml_mapping

__all__ = ["ConsumerGroups", "ExpectedGroups", "expected_groups"]

ExpectedGroups = dict[str, tuple[list[str], OffsetReset]]


def expected_groups(config: ModelRuntimeConfig, exclude: Mapping[str, str]) -> ExpectedGroups:
    """The groups a host of ``config`` will join, with topics and reset policy, as far as the
    contracts' YAML tells (blocking file reads). A guess, never a check: empty when a contract
    cannot be read (the real load reports it), and a wrong guess only costs a join."""
    allowlist = (*DEFAULT_ALLOWLIST, *config.plugin_allowlist)
    try:
        files = discover_contract_files(
            config.contract_dirs, allowlist=allowlist, use_entry_points=config.use_entry_points
        )
        groups: ExpectedGroups = {}
        for file in files:
            data = load_yaml_mapping(file)
            name = data.get("name")
            topics = _routed_topics(data)
            if isinstance(name, str) and name not in exclude and topics:
                identity = ModelNodeIdentity(
                    env=config.environment, service=config.service, node_name=name
                )
                group = EventBusBase.consumer_group_id(
                    identity, EnumConsumerGroupPurpose.CONSUME, None
                )
                groups[group] = (topics, config.event_bus.auto_offset_reset)
        retry = config.event_bus.retry
        if retry is not None:  # one retry group per node (see ``ConsumerGroups.join``)
            levels = range(2, retry.last_level + 1)
            for group, (topics, _) in list(groups.items()):
                retries = [retry_topic_for(topic, level) for topic in topics for level in levels]
                if retries:
                    groups[f"{group}.retry"] = (retries, "earliest")
    except (ProtocolConfigurationError, OSError, ValidationError):
        return {}
    return groups


def _routed_topics(data: Mapping[str, JsonValue]) -> list[str]:
    """The topics a contract's handlers are routed from (each handler's, else all)."""
    bus, routing = data.get("event_bus"), data.get("handler_routing")
    subscribed = bus.get("subscribe_topics") if isinstance(bus, dict) else None
    handlers = routing.get("handlers") if isinstance(routing, dict) else None
    if not isinstance(subscribed, list) or not isinstance(handlers, list):
        return []
    topics: dict[str, None] = {}
    for entry in handlers:
        topic = entry.get("topic") if isinstance(entry, dict) else None
        routed: Sequence[JsonValue] = subscribed if topic is None else [topic]
        topics.update(dict.fromkeys(str(t) for t in routed))
    return list(topics)


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

"""The consumer groups a runtime's host will join, predicted from its config and the
contracts' YAML alone: each node's group and, with retry topics, its retry group.

A Kafka runtime begins joining these before the rest of its start imports (a join is a broker
round of seconds; see ``runtime.launch``), so this module imports nothing heavy: no core
contract model, no handler, no dispatch engine. The real join (``runtime.consumer_groups``)
adopts each early member that matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from pydantic import JsonValue, ValidationError

from omnibase_infra._core import EnumConsumerGroupPurpose
from omnibase_infra.dispatch.retry_topics import retry_topic_for
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.event_bus.base import EventBusBase, OffsetReset
from omnibase_infra.models.model_node_identity import ModelNodeIdentity
from omnibase_infra.runtime.contracts.contract_files import discover_contract_files
from omnibase_infra.runtime.contracts.plugin_loader import DEFAULT_ALLOWLIST
from omnibase_infra.runtime.safe_yaml import load_yaml_mapping

if TYPE_CHECKING:
    from omnibase_infra.runtime.config import ModelRuntimeConfig

__all__ = ["ExpectedGroups", "expected_groups", "node_group", "retry_group", "without_nodes"]

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
                groups[node_group(config, name)] = (topics, config.event_bus.auto_offset_reset)
        retry = config.event_bus.retry
        if retry is not None:  # one retry group per node (see ``ConsumerGroups.join``)
            levels = range(2, retry.last_level + 1)
            for group, (topics, _) in list(groups.items()):
                retries = [retry_topic_for(topic, level) for topic in topics for level in levels]
                if retries:
                    groups[retry_group(group)] = (retries, "earliest")
    except (ProtocolConfigurationError, OSError, ValidationError):
        return {}
    return groups


def without_nodes(
    groups: ExpectedGroups, config: ModelRuntimeConfig, nodes: Iterable[str]
) -> ExpectedGroups:
    """``groups`` less those of ``nodes`` (their group and retry group): the groups of
    ``expected_groups(config, {})`` once the nodes left out are known, without reading the
    contracts again."""
    dropped: set[str] = set()
    for node in nodes:
        group = node_group(config, node)
        dropped.update((group, retry_group(group)))
    return {group: joined for group, joined in groups.items() if group not in dropped}


def node_group(config: ModelRuntimeConfig, node: str) -> str:
    """The consumer group of ``node`` in a runtime of ``config``."""
    identity = ModelNodeIdentity(env=config.environment, service=config.service, node_name=node)
    return EventBusBase.consumer_group_id(identity, EnumConsumerGroupPurpose.CONSUME, None)


def retry_group(group: str) -> str:
    """The retry group of a node's ``group`` (see ``ConsumerGroups.join``)."""
    return f"{group}.retry"


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

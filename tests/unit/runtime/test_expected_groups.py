"""The consumer groups a Kafka runtime begins joining before its start imports anything heavy,
predicted from the config and the contracts' YAML alone."""

from __future__ import annotations

from omnibase_infra.runtime.config import ModelRuntimeConfig
from omnibase_infra.runtime.expected_groups import (
    expected_groups,
    node_group,
    retry_group,
    without_nodes,
)

_ORCHESTRATOR = "node_registration_orchestrator"
_LEFT_OUT = ("node_consul_adapter_effect", "node_vault_adapter_effect", "node_webhook_effect")


def _config() -> ModelRuntimeConfig:
    return ModelRuntimeConfig.model_validate({"event_bus": {"kind": "kafka"}})


def test_the_package_nodes_each_get_a_group_and_a_retry_group_over_their_retry_topics() -> None:
    """The registration orchestrator's group spans the topics its handlers are routed from,
    and its retry group spans every retry level's topic of each of them."""
    config = _config()
    groups = expected_groups(config, {})
    group = node_group(config, _ORCHESTRATOR)
    topics, reset = groups[group]
    retries, retry_reset = groups[retry_group(group)]
    assert topics
    assert reset == config.event_bus.auto_offset_reset
    assert config.event_bus.retry is not None
    assert len(retries) == len(topics) * (config.event_bus.retry.last_level - 1)
    assert retry_reset == "earliest"


def test_without_nodes_matches_the_prediction_made_with_those_nodes_left_out() -> None:
    """Filtering the first prediction by the nodes the infrastructure left out gives exactly
    the groups a prediction with them excluded gives (the launcher reads the contracts once)."""
    config = _config()
    everything = expected_groups(config, {})
    excluded = dict.fromkeys(_LEFT_OUT, "not configured")
    kept = without_nodes(everything, config, excluded)
    assert kept == expected_groups(config, excluded)
    assert len(kept) == len(everything) - 2 * len(_LEFT_OUT)
    assert node_group(config, _ORCHESTRATOR) in kept

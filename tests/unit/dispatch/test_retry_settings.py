"""Retry topic names and the bounded exponential delay schedule (pure logic)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from omnibase_infra.dispatch.failure_policy import (
    DeadLetterPolicy,
    RetryFailurePolicy,
    retry_topic_for,
)
from omnibase_infra.dispatch.model_retry_settings import ModelRetrySettings
from omnibase_infra.errors import (
    EnvelopeValidationError,
    InfraAuthenticationError,
    InfraConnectionError,
    InfraTimeoutError,
    ProtocolConfigurationError,
    RuntimeHostError,
)
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.topics import parse_topic
from omnibase_infra.runtime.config import ModelRuntimeConfig, load_runtime_config

README = Path(__file__).resolve().parents[3] / "README.md"


def test_retry_topic_keeps_kind_producer_and_version() -> None:
    """The retry topic of attempt N keeps the topic's kind, producer and version."""
    assert retry_topic_for("onex.cmd.billing.charge.v2", 3) == "onex.cmd.billing.charge-retry3.v2"


def test_retry_topic_of_a_long_event_stays_valid_and_distinct() -> None:
    """Events too long for a suffix get a shortened, checksummed name that still parses."""
    long_a = "onex.evt.p." + "a" * 60 + "x.v1"
    long_b = "onex.evt.p." + "a" * 60 + "y.v1"
    topic_a = retry_topic_for(long_a, 2)
    assert parse_topic(topic_a).event.endswith("-retry2")
    assert topic_a != retry_topic_for(long_b, 2)


def test_delays_grow_exponentially_up_to_the_bound() -> None:
    """Attempt 2 waits the base delay, each later one multiplies it, never past the bound."""
    settings = ModelRetrySettings(
        max_attempts=6, base_delay_seconds=1, multiplier=3, max_delay_seconds=10
    )
    assert [settings.delay_before(a) for a in range(2, 7)] == [1, 3, 9, 10, 10]


def test_base_delay_above_the_bound_is_rejected() -> None:
    """A base delay larger than the bound is a configuration error naming the field."""
    with pytest.raises(ProtocolConfigurationError) as caught:
        ModelRetrySettings(base_delay_seconds=5, max_delay_seconds=1)
    assert caught.value.field == "retry.base_delay_seconds"


def test_only_errors_that_retrying_can_fix_are_retried() -> None:
    """Invalid input, bad configuration and non-retriable errors skip the retries."""
    policy = RetryFailurePolicy(EventBusInmemory())
    assert policy.is_retriable(InfraTimeoutError("slow"))
    assert policy.is_retriable(RuntimeError("unknown"))
    assert not policy.is_retriable(EnvelopeValidationError("bad bytes"))
    assert not policy.is_retriable(ProtocolConfigurationError("bad config"))
    assert not policy.is_retriable(InfraAuthenticationError("denied"))


def test_an_outage_is_retried_for_its_budget_other_failures_for_max_attempts() -> None:
    """An unavailable dependency is retried past max_attempts until the budget is spent; any
    other retriable failure stops at max_attempts; bad input is never retried."""
    settings = ModelRetrySettings(max_attempts=3, outage_budget_seconds=60)
    policy = RetryFailurePolicy(EventBusInmemory(), settings)
    outage = InfraConnectionError("refused")
    assert policy.may_retry(outage, attempt=25, failing_for_seconds=59.0)
    assert not policy.may_retry(outage, attempt=25, failing_for_seconds=60.0)
    transient = RuntimeHostError("conflict", retriable=True)
    assert policy.may_retry(transient, attempt=2, failing_for_seconds=0.0)
    assert not policy.may_retry(transient, attempt=3, failing_for_seconds=0.0)
    assert not policy.may_retry(EnvelopeValidationError("bad"), attempt=1, failing_for_seconds=0)


def test_a_zero_outage_budget_treats_an_outage_like_any_failure() -> None:
    """With outage_budget_seconds 0 an unavailable dependency gets max_attempts, no more."""
    policy = RetryFailurePolicy(
        EventBusInmemory(), ModelRetrySettings(max_attempts=2, outage_budget_seconds=0)
    )
    outage = InfraTimeoutError("slow")
    assert policy.may_retry(outage, attempt=1, failing_for_seconds=0.0)
    assert not policy.may_retry(outage, attempt=2, failing_for_seconds=0.0)


def test_dead_lettering_is_the_failure_policy_with_a_retry_budget_of_zero() -> None:
    """DeadLetterPolicy retries nothing, not even an outage, and needs no retry topic."""
    policy = DeadLetterPolicy(EventBusInmemory())
    assert isinstance(policy, RetryFailurePolicy)
    assert policy.settings == ModelRetrySettings.dead_letter_at_once()
    assert policy.settings.last_level == 1
    assert not policy.may_retry(InfraConnectionError("refused"), attempt=1, failing_for_seconds=0)
    assert not policy.may_retry(RuntimeError("bug"), attempt=1, failing_for_seconds=0.0)


def test_later_outage_retries_share_the_last_retry_level() -> None:
    """Attempts past max_attempts wait in the last level's retry topic, so an outage adds no
    topics; with a single attempt an outage budget still gets one level."""
    settings = ModelRetrySettings(max_attempts=3)
    assert [settings.level_of(attempt) for attempt in (2, 3, 4, 40)] == [2, 3, 3, 3]
    assert ModelRetrySettings(max_attempts=1).last_level == 2
    assert ModelRetrySettings(max_attempts=1, outage_budget_seconds=0).last_level == 1


def test_readme_config_example_is_valid_and_shows_the_retry_defaults() -> None:
    """The configuration example of the README loads, and its retry line is the defaults."""
    block = re.search(r"```yaml\n(.*?)```", README.read_text(), re.S)
    assert block is not None
    config = load_runtime_config(None, **yaml.safe_load(block.group(1)))
    assert config.event_bus.retry == ModelRetrySettings()
    assert ModelRuntimeConfig().event_bus.retry == ModelRetrySettings()
    assert ModelRetrySettings().outage_budget_seconds == 300.0

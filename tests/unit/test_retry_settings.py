"""Retry topic names and the bounded exponential delay schedule (pure logic)."""

from __future__ import annotations

import pytest

from omnibase_infra.errors import (
    EnvelopeValidationError,
    InfraAuthenticationError,
    InfraTimeoutError,
    ProtocolConfigurationError,
)
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.model_retry_settings import ModelRetrySettings
from omnibase_infra.event_bus.retry import RetryFailurePolicy, retry_topic_for
from omnibase_infra.event_bus.topics import parse_topic


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

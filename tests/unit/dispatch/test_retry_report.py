"""Retries logged in summary: one warning when they start, a line per interval, one when settled;
and the retry policy letting held messages go when it is closed."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping

from structlog.testing import capture_logs

from omnibase_infra.dispatch.failure_policy import RetryFailurePolicy
from omnibase_infra.dispatch.model_retry_settings import ModelRetrySettings
from omnibase_infra.dispatch.retry_report import RetryReport
from omnibase_infra.enums import EnumDispatchOutcome
from omnibase_infra.errors import InfraConnectionError, RuntimeHostError
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.testing import eventually


def _retry(report: RetryReport, error: BaseException, *, outage: bool) -> None:
    report.retrying(
        topic="onex.evt.test.job.v1",
        consumer_group="g",
        error=error,
        outage=outage,
        attempt=2,
        failing_for_seconds=1.5,
    )


async def _logged(logs: list[MutableMapping[str, object]], event: str) -> None:
    """Return once a captured line has ``event`` (at most about 30 s)."""
    await eventually(
        lambda: any(line["event"] == event for line in logs),
        f"the log line {event!r}",
        timeout=30.0,
        interval=0.01,
    )


async def test_an_outage_is_logged_once_then_per_interval_then_settled() -> None:
    """Hundreds of retries make one warning naming the outage, one summary per interval with
    their count, and one line once an interval passes without a retry."""
    report = RetryReport(interval_seconds=0.5)
    with capture_logs() as logs:
        for _ in range(300):
            _retry(report, InfraConnectionError("PostgreSQL refused"), outage=True)
        report.dead_lettered()
        # Waits for the log lines, not for a time: a loaded machine only makes it slower.
        await _logged(logs, "messages still retrying")  # one interval: the summary
        assert report.active
        await _logged(logs, "retries settled")  # a quiet interval: settled
    events = [(line["log_level"], line["event"]) for line in logs if line["log_level"] != "debug"]
    assert events == [
        ("warning", "dependency unavailable: messages held for retry"),
        ("info", "messages still retrying"),
        ("info", "retries settled"),
    ]
    summary = next(line for line in logs if line["event"] == "messages still retrying")
    assert (summary["retries"], summary["outage_retries"], summary["dead_lettered"]) == (
        300,
        300,
        1,
    )
    assert summary["error_types"] == {"InfraConnectionError": 300}
    assert not report.active


async def test_a_failure_that_is_not_an_outage_says_so_and_delivery_is_announced_once() -> None:
    """A plain failure starts with 'message failed: retrying'; the first message delivered
    after its retries is announced once, however many follow."""
    report = RetryReport(interval_seconds=10.0)
    with capture_logs() as logs:
        _retry(report, RuntimeHostError("conflict", retriable=True), outage=False)
        report.delivered()
        report.delivered()
        report.close()
    events = [line["event"] for line in logs if line["log_level"] != "debug"]
    assert events == ["message failed: retrying", "retried messages are delivered again"]


async def test_closing_the_policy_lets_a_held_message_go_at_once() -> None:
    """A message held in place for its retry delay is nacked (left for the next start) as soon
    as the policy is closed, not after the delay."""
    settings = ModelRetrySettings(base_delay_seconds=300, max_delay_seconds=300)
    policy = RetryFailurePolicy(EventBusInmemory(), settings, redeliver=True)
    message = BusMessage("onex.evt.test.job.v1", b"k", b"{}", {})
    held = asyncio.create_task(
        policy.on_failure(message, InfraConnectionError("refused"), consumer_group="g")
    )
    await asyncio.sleep(0.05)
    assert not held.done()
    assert policy.report.held == 1
    await policy.close()
    outcome = await asyncio.wait_for(held, 5)
    assert outcome is EnumDispatchOutcome.RETRY
    assert message.nacked
    assert policy.report.held == 0

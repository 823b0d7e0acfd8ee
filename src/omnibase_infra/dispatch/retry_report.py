"""What the retries are doing, in a few log lines instead of one per message.

An outage makes every message fail, and a line per failed delivery would bury what matters.
The first retry after a quiet period logs one WARNING saying why (``dependency unavailable:
messages held for retry`` when the failure is an outage); while retries go on, one INFO line
per interval counts them (retries, messages held in place right now, dead-lettered, delivered
after a retry, the age of the oldest failure, the error types); the first message delivered
after its retries gets one INFO line (the dependency answers again); once a whole interval
passes with no retry and nothing held, one INFO line says the retries settled. Per-message
details are DEBUG.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

from omnibase_infra.observability.logging import get_logger
from omnibase_infra.sanitize import sanitize_text

__all__ = ["RetryReport"]

_log = get_logger(__name__)


class RetryReport:
    """Counts retries and logs them in summary (see module docstring)."""

    def __init__(
        self, interval_seconds: float = 10.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval_seconds = interval_seconds
        self._clock = clock
        self._timer: asyncio.TimerHandle | None = None
        self._period_started = 0.0
        self._flowing = False  # a retried message was delivered in this period
        self.held = 0  # messages waiting for their retry in this process right now
        self._reset_interval()
        self._total_retries = 0
        self._total_dead_lettered = 0
        self._total_delivered = 0

    @property
    def active(self) -> bool:
        """Whether a period of retries is going on (its summary lines are being logged)."""
        return self._timer is not None

    def _reset_interval(self) -> None:
        self._retries = 0
        self._outage_retries = 0
        self._dead_lettered = 0
        self._delivered = 0
        self._oldest = 0.0
        self._error_types: Counter[str] = Counter()

    def retrying(
        self,
        *,
        topic: str,
        consumer_group: str,
        error: BaseException,
        outage: bool,
        attempt: int,
        failing_for_seconds: float,
    ) -> None:
        """A message failed and will be retried (``attempt`` is the next delivery's number)."""
        if not self.active:
            self._start(topic, consumer_group, error, outage)
        self._retries += 1
        self._outage_retries += outage
        self._oldest = max(self._oldest, failing_for_seconds)
        self._error_types[type(error).__name__] += 1
        _log.debug(
            "message scheduled for retry",
            topic=topic,
            consumer_group=consumer_group,
            attempt=attempt,
            outage=outage,
            error_type=type(error).__name__,
        )

    def dead_lettered(self) -> None:
        """A message was dead-lettered after its retries (its own line says which)."""
        self._dead_lettered += 1

    def delivered(self) -> None:
        """A message that had failed before was handled."""
        self._delivered += 1
        if self.active and not self._flowing:
            self._flowing = True
            _log.info(
                "retried messages are delivered again",
                seconds_since_first_failure=round(self._clock() - self._period_started, 1),
            )

    def _start(self, topic: str, consumer_group: str, error: BaseException, outage: bool) -> None:
        self._period_started = self._clock()
        self._flowing = False
        self._total_retries = self._total_dead_lettered = self._total_delivered = 0
        _log.warning(
            "dependency unavailable: messages held for retry"
            if outage
            else "message failed: retrying",
            topic=topic,
            consumer_group=consumer_group,
            error_type=type(error).__name__,
            error=sanitize_text(str(error))[:300],
        )
        self._schedule()

    def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.interval_seconds, self._flush)

    def _flush(self) -> None:
        """Log the interval's summary; end the period once nothing retried or is held."""
        self._total_retries += self._retries
        self._total_dead_lettered += self._dead_lettered
        self._total_delivered += self._delivered
        if self._retries or self.held:
            _log.info(
                "messages still retrying",
                retries=self._retries,
                outage_retries=self._outage_retries,
                held_in_place=self.held,
                dead_lettered=self._dead_lettered,
                delivered_after_retry=self._delivered,
                oldest_failure_seconds=round(self._oldest, 1),
                error_types=dict(self._error_types),
            )
            self._reset_interval()
            self._schedule()
            return
        _log.info(
            "retries settled",
            retries=self._total_retries,
            dead_lettered=self._total_dead_lettered,
            delivered_after_retry=self._total_delivered,
            seconds=round(self._clock() - self._period_started, 1),
        )
        self._reset_interval()
        self._timer = None

    def close(self) -> None:
        """Stop the summary timer (the host is stopping)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

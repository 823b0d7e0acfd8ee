"""The sliding failure-rate window of a circuit breaker (core's ``window_size_seconds``,
``failure_rate_threshold`` and ``minimum_request_threshold``).

The window is ``WINDOW_BUCKETS`` buckets of ``window / WINDOW_BUCKETS`` seconds each, indexed by
the absolute bucket number ``floor(now / width)``; moving to a newer bucket empties the ones
skipped. Recording is a division, a comparison and an increment, so it can sit on the success
path. The pure circuit-breaker node carries the counters between events in its state model
(``export`` / ``restore``).
"""

from __future__ import annotations

__all__ = ["WINDOW_BUCKETS", "FailureWindow", "window_tripped"]

WINDOW_BUCKETS = 10


def window_tripped(
    successes: int, failures: int, *, minimum_requests: int, failure_rate: float
) -> bool:
    """Enough requests in the window, and at least ``failure_rate`` of them failed."""
    total = successes + failures
    return total >= minimum_requests and failures >= failure_rate * total


class FailureWindow:
    """Successes and failures of the last ``window_seconds``, in buckets."""

    __slots__ = ("_bucket", "_failures", "_successes", "_width")

    def __init__(self, window_seconds: float) -> None:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be > 0")
        self._width = window_seconds / WINDOW_BUCKETS
        self._bucket = 0
        self._successes = [0] * WINDOW_BUCKETS
        self._failures = [0] * WINDOW_BUCKETS

    @classmethod
    def restore(
        cls,
        window_seconds: float,
        bucket: int,
        successes: tuple[int, ...],
        failures: tuple[int, ...],
    ) -> FailureWindow:
        """A window holding counters from ``export`` (empty tuples: nothing counted)."""
        window = cls(window_seconds)
        window._bucket = bucket
        if successes:
            window._successes = list(successes)
        if failures:
            window._failures = list(failures)
        return window

    def export(self) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
        """(newest bucket number, successes per bucket, failures per bucket)."""
        return self._bucket, tuple(self._successes), tuple(self._failures)

    def add(self, now: float, failed: bool) -> None:
        """Count one outcome at time ``now``."""
        bucket = int(now // self._width)
        if bucket != self._bucket:
            if bucket > self._bucket:
                self._advance(bucket)
            else:  # a clock that stepped back counts in the newest bucket
                bucket = self._bucket
        if failed:
            self._failures[bucket % WINDOW_BUCKETS] += 1
        else:
            self._successes[bucket % WINDOW_BUCKETS] += 1

    def counts(self, now: float) -> tuple[int, int]:
        """(successes, failures) within the window ending at ``now``."""
        bucket = int(now // self._width)
        if bucket > self._bucket:
            self._advance(bucket)
        return sum(self._successes), sum(self._failures)

    def clear(self) -> None:
        """Forget everything (the circuit changed state)."""
        for index in range(WINDOW_BUCKETS):
            self._successes[index] = 0
            self._failures[index] = 0

    def _advance(self, bucket: int) -> None:
        for step in range(1, min(bucket - self._bucket, WINDOW_BUCKETS) + 1):
            index = (self._bucket + step) % WINDOW_BUCKETS
            self._successes[index] = 0
            self._failures[index] = 0
        self._bucket = bucket

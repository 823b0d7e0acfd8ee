"""The sliding failure-rate window of a circuit breaker (core's ``window_size_seconds``,
``failure_rate_threshold`` and ``minimum_request_threshold``).

The window is ``WINDOW_BUCKETS`` buckets of ``window / WINDOW_BUCKETS`` seconds each, indexed by
the absolute bucket number ``floor(now / width)``; moving to a newer bucket empties the ones
skipped. The newest bucket's counts are two plain ints and the time its bucket ends is kept, so
recording an outcome within the newest bucket is one float comparison and one int increment:
cheap enough for the success path. The pure circuit-breaker node carries the counters between
events in its state model (``export`` / ``restore``).
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

    # ``_newest_ok`` / ``_newest_failed`` count the newest bucket; its slot in the lists stays 0
    # until a newer bucket begins and the counts are moved there.
    __slots__ = (
        "_bucket",
        "_failures",
        "_newest_ends",
        "_newest_failed",
        "_newest_ok",
        "_successes",
        "_width",
    )

    def __init__(self, window_seconds: float) -> None:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be > 0")
        self._width = window_seconds / WINDOW_BUCKETS
        self._bucket = 0
        self._newest_ends = self._width
        self._newest_ok = 0
        self._newest_failed = 0
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
        window._newest_ends = (bucket + 1) * window._width
        index = bucket % WINDOW_BUCKETS
        if successes:
            window._successes = list(successes)
            window._newest_ok = window._successes[index]
            window._successes[index] = 0
        if failures:
            window._failures = list(failures)
            window._newest_failed = window._failures[index]
            window._failures[index] = 0
        return window

    def export(self) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
        """(newest bucket number, successes per bucket, failures per bucket)."""
        index = self._bucket % WINDOW_BUCKETS
        successes = list(self._successes)
        failures = list(self._failures)
        successes[index] += self._newest_ok
        failures[index] += self._newest_failed
        return self._bucket, tuple(successes), tuple(failures)

    def add_success(self, now: float) -> None:
        """Count one success at time ``now`` (a clock that stepped back counts in the newest
        bucket)."""
        if now >= self._newest_ends:
            self._advance(now)
        self._newest_ok += 1

    def add_failure(self, now: float) -> None:
        """Count one failure at time ``now``."""
        if now >= self._newest_ends:
            self._advance(now)
        self._newest_failed += 1

    def counts(self, now: float) -> tuple[int, int]:
        """(successes, failures) within the window ending at ``now``."""
        if now >= self._newest_ends:
            self._advance(now)
        return (
            sum(self._successes) + self._newest_ok,
            sum(self._failures) + self._newest_failed,
        )

    def clear(self) -> None:
        """Forget everything (the circuit changed state)."""
        for index in range(WINDOW_BUCKETS):
            self._successes[index] = 0
            self._failures[index] = 0
        self._newest_ok = 0
        self._newest_failed = 0

    def _advance(self, now: float) -> None:
        """Make the bucket of ``now`` the newest: store the newest counts, empty the skipped."""
        bucket = int(now // self._width)
        if bucket <= self._bucket:  # ``now`` on the boundary as floats round it: still newest
            return
        index = self._bucket % WINDOW_BUCKETS
        self._successes[index] = self._newest_ok
        self._failures[index] = self._newest_failed
        self._newest_ok = 0
        self._newest_failed = 0
        for step in range(1, min(bucket - self._bucket, WINDOW_BUCKETS) + 1):
            index = (self._bucket + step) % WINDOW_BUCKETS
            self._successes[index] = 0
            self._failures[index] = 0
        self._bucket = bucket
        self._newest_ends = (bucket + 1) * self._width

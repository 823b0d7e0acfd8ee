"""Per-client token buckets: ``rate`` tokens a second up to ``burst``, a bounded client table."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["TokenBucketLimiter"]


class TokenBucketLimiter:
    """One bucket per client key; the least recently seen clients are forgotten past
    ``max_clients`` (a forgotten client starts again with a full bucket)."""

    def __init__(
        self,
        rate_per_second: float,
        burst: int,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = rate_per_second
        self._burst = float(burst)
        self._max_clients = max_clients
        self._clock = clock
        # key -> (tokens left, when they were counted)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    @property
    def burst(self) -> int:
        """The bucket size: the most tokens one take can be granted."""
        return int(self._burst)

    def take(self, key: str, cost: int = 1) -> float:
        """Take ``cost`` tokens for ``key`` (all or none): 0.0 when granted, else the seconds
        until they are due (``cost`` past the burst is never granted: see ``burst``)."""
        now = self._clock()
        tokens, then = self._buckets.pop(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - then) * self._rate)
        wait = 0.0
        if tokens >= cost:
            tokens -= cost
        else:
            wait = (cost - tokens) / self._rate
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._max_clients:
            self._buckets.popitem(last=False)
        return wait

"""A clock that moves only when told to, for testing time-driven behaviour without waiting.

Pass ``clock`` as the ``clock=`` and ``clock.sleep`` as the ``sleep=`` of an ``EffectExecutor``
or circuit breaker: backoff delays, retry budgets and reset timeouts then run on virtual time,
and a test asserts on state transitions and counts, never on wall time.
"""

from __future__ import annotations

import asyncio

__all__ = ["ManualClock"]


class ManualClock:
    """Monotonic seconds that advance by ``advance()`` or by the virtual ``sleep()``."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        """The current virtual time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """Record the delay, move time forward by it, and let other tasks run once."""
        self.sleeps.append(seconds)
        self.advance(max(seconds, 0.0))
        await asyncio.sleep(0)

"""The ingress's token buckets: a burst, then one token per 1/rate seconds, per client, with a
bounded client table."""

from __future__ import annotations

import pytest

from omnibase_infra.ingress.rate_limit import TokenBucketLimiter
from omnibase_infra.testing.manual_clock import ManualClock


def test_burst_then_refill_at_the_rate() -> None:
    """Three tokens at once, the fourth waits half a second at 2/s, and is granted after it."""
    clock = ManualClock()
    limiter = TokenBucketLimiter(2.0, 3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(0.5)
    clock.advance(0.5)
    assert limiter.take("a") == 0.0


def test_clients_have_their_own_buckets() -> None:
    """One client's empty bucket does not limit another."""
    limiter = TokenBucketLimiter(1.0, 1, clock=ManualClock())
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0.0
    assert limiter.take("b") == 0.0


def test_the_client_table_is_bounded() -> None:
    """Past max_clients the least recently seen client is forgotten (and starts full again)."""
    limiter = TokenBucketLimiter(1.0, 1, max_clients=2, clock=ManualClock())
    limiter.take("a")
    limiter.take("b")
    limiter.take("c")  # forgets a
    assert limiter.take("b") > 0.0
    assert limiter.take("a") == 0.0


def test_a_batch_takes_its_count_all_or_none() -> None:
    """A take of 3 tokens is granted from a bucket of 4, then refused (nothing taken) until
    the bucket holds 3 again."""
    clock = ManualClock()
    limiter = TokenBucketLimiter(1.0, 4, clock=clock)
    assert limiter.take("a", 3) == 0.0
    assert limiter.take("a", 3) == pytest.approx(2.0)
    assert limiter.take("a", 1) == 0.0
    clock.advance(3.0)
    assert limiter.take("a", 3) == 0.0
    assert limiter.burst == 4

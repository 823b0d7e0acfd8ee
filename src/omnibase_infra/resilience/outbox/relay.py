"""``OutboxRelay``: publishes committed outbox rows to the bus and marks them sent.

One batch is one transaction: lock up to ``batch_size`` unsent rows in id order with
``FOR UPDATE SKIP LOCKED`` (relays running side by side take disjoint batches), publish each,
stamp the published ones ``sent_at`` and commit. Guarantees:

- nothing is lost: a row is marked sent only in the transaction that published it, so a relay
  that dies (even ``kill -9``) leaves its rows unsent and unlocked for the next relay;
- at least once: a relay that dies after publishing but before committing republishes those
  messages later; consumers deduplicate by envelope id (effects are idempotent by default);
- a publish that fails stops the batch: the rows already published are marked sent, the
  failing one records ``attempts`` and a sanitised ``last_error``, and the relay backs off;
- order: one relay publishes in id (commit) order; with several relays, messages of different
  batches may interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from prometheus_client import Counter

from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.observability.metrics import REGISTRY
from omnibase_infra.resilience.effect.executor import EffectExecutor
from omnibase_infra.sanitize import sanitize_text

__all__ = ["OutboxRelay"]

_log = get_logger(__name__)

_PUBLISHED = Counter(
    "onex_outbox_published_messages", "Outbox rows published and marked sent.", registry=REGISTRY
)
_FAILED = Counter(
    "onex_outbox_publish_failures", "Outbox publishes that failed (row kept).", registry=REGISTRY
)

_LOCK_BATCH = """
SELECT id, topic, key, value, headers::text AS headers
  FROM onex_outbox
 WHERE sent_at IS NULL
 ORDER BY id
 LIMIT $1
   FOR UPDATE SKIP LOCKED
"""
_MARK_SENT = (
    "UPDATE onex_outbox SET sent_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])"
)
_MARK_FAILED = "UPDATE onex_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1"
_PENDING = "SELECT count(*) FROM onex_outbox WHERE sent_at IS NULL"
_PURGE_SENT = (
    "DELETE FROM onex_outbox WHERE sent_at IS NOT NULL "
    "AND sent_at < now() - make_interval(secs => $1)"
)


class OutboxRelay:
    """Moves committed outbox rows to ``bus``; run several for throughput or availability."""

    def __init__(
        self,
        handler: HandlerPostgres,
        bus: EventBusBase,
        *,
        batch_size: int = 100,
        poll_interval_seconds: float = 0.2,
        max_backoff_seconds: float = 5.0,
        publish_timeout_seconds: float = 30.0,
        executor: EffectExecutor | None = None,
    ) -> None:
        if batch_size < 1 or poll_interval_seconds <= 0 or max_backoff_seconds <= 0:
            raise ValueError("batch_size >= 1 and positive intervals are required")
        self._handler = handler
        self._bus = bus
        self._batch_size = batch_size
        self._poll = poll_interval_seconds
        self._max_backoff = max_backoff_seconds
        # Every publish is bounded: a hung broker must not hold the batch's row locks forever.
        self._executor = executor or EffectExecutor(
            "outbox.publish", operation="publish", timeout_seconds=publish_timeout_seconds
        )

    async def relay_once(self) -> int:
        """Publish one batch; returns how many rows were published and marked sent.

        Raises the publish error after committing what was published before it.
        """
        failure: BaseException | None = None
        async with self._handler.transaction() as tx:
            rows = await tx.fetch(_LOCK_BATCH, self._batch_size)
            published: list[int] = []
            for row in rows:
                headers: dict[str, str] = json.loads(row["headers"])
                try:
                    await self._executor.call(
                        self._bus.publish, row["topic"], row["key"], row["value"], headers
                    )
                except Exception as exc:
                    failure = exc
                    reason = sanitize_text(f"{type(exc).__name__}: {exc}")[:1000]
                    await tx.execute(_MARK_FAILED, row["id"], reason)
                    break
                published.append(row["id"])
            if published:
                await tx.execute(_MARK_SENT, published)
        _PUBLISHED.inc(len(published))
        if failure is not None:
            _FAILED.inc()
            raise failure
        return len(published)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Relay until ``stop`` is set (or the task is cancelled); survives outages."""
        stop = stop or asyncio.Event()
        backoff = self._poll
        while not stop.is_set():
            try:
                count = await self.relay_once()
            except Exception as exc:  # database or bus down: keep going once it is back
                _log.warning(
                    "outbox relay batch failed; backing off",
                    error_type=type(exc).__name__,
                    error=sanitize_text(str(exc))[:500],
                    backoff_seconds=backoff,
                )
                await self._wait(stop, backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = self._poll
            if count < self._batch_size:
                await self._wait(stop, self._poll)

    async def pending(self) -> int:
        """Rows not yet published."""
        count = await self._handler.fetchval(_PENDING)
        assert isinstance(count, int)
        return count

    async def purge_sent(self, older_than_seconds: float) -> int:
        """Delete rows sent longer ago than ``older_than_seconds``; returns how many."""
        tag = await self._handler.execute(_PURGE_SENT, float(older_than_seconds))
        return int(tag.rsplit(" ", 1)[-1])

    @staticmethod
    async def _wait(stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)

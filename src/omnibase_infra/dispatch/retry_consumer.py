"""``RetryConsumer``: feeds one consumer group's due retries back to the dispatch engine.

It reads the retry topics of all of a node's topics as one consumer group (one join), waits
until each message's not-before time (never longer than ``max_delay_seconds``), and hands the
message back to ``engine.dispatch`` under its original topic. A level's messages come due in
about the order they sit in (outage retries sharing the last level may differ); every wait is
bounded by ``max_delay_seconds``, so a retry is never held up beyond its own due time plus that
bound by another one waiting in the same fetch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from omnibase_infra.dispatch.failure_policy import read_retry_state, retry_topic_for
from omnibase_infra.dispatch.model_retry_settings import ModelRetrySettings
from omnibase_infra.dispatch.retry_report import RetryReport
from omnibase_infra.enums import EnumDispatchOutcome
from omnibase_infra.event_bus.base import EventBusBase, Unsubscribe
from omnibase_infra.event_bus.message import BusMessage

if TYPE_CHECKING:
    # The engine builds its default failure policy from this package: a type-only import.
    from omnibase_infra.dispatch.engine import MessageDispatchEngine

__all__ = ["RetryConsumer"]


class RetryConsumer:
    """Feeds one consumer group's due retries of its topics back to the engine (see module)."""

    def __init__(
        self,
        bus: EventBusBase,
        engine: MessageDispatchEngine,
        *,
        topics: Sequence[str],
        consumer_group: str,
        settings: ModelRetrySettings | None = None,
        report: RetryReport | None = None,
    ) -> None:
        self._bus = bus
        self._engine = engine
        self._report = report
        self._topics = tuple(topics)
        self._group = consumer_group
        self._settings = settings or ModelRetrySettings()
        self._unsubscribe: Unsubscribe | None = None
        self._stopping = asyncio.Event()

    @property
    def retry_group(self) -> str:
        """The consumer group reading the retry topics."""
        return f"{self._group}.retry"

    @property
    def retry_topics(self) -> list[str]:
        """The retry topics of every retry level, of every topic."""
        return [
            retry_topic_for(topic, level)
            for topic in self._topics
            for level in range(2, self._settings.last_level + 1)
        ]

    async def start(self) -> None:
        """Join the retry group on every retry topic (from the earliest retained retry)."""
        self._stopping.clear()
        topics = self.retry_topics
        if not topics:
            return
        self._unsubscribe = await self._bus.subscribe_group(
            dict.fromkeys(topics, self._on_retry),
            group_id=self.retry_group,
            auto_offset_reset="earliest",
        )

    async def stop(self) -> None:
        """Leave the retry topics; a retry still waiting is left uncommitted for later."""
        self._stopping.set()
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            await unsubscribe()

    async def _on_retry(self, message: BusMessage) -> None:
        state = read_retry_state(message)
        if state is None or state.consumer_group != self._group:
            return  # another group's retry (they share the topic), or not a retry at all
        wait = (state.not_before - datetime.now(UTC)).total_seconds()
        if wait > 0:
            bounded = min(wait, self._settings.max_delay_seconds)
            try:
                await asyncio.wait_for(self._stopping.wait(), bounded)
            except TimeoutError:
                pass
            else:
                await message.nack()  # stopping: leave it for the next consumer
                return
        original = BusMessage(
            state.original_topic,
            message.key,
            message.value,
            message.headers,
            state.partition,
            state.offset,
            message.timestamp,
        )
        outcome = await self._engine.dispatch(original, consumer_group=self._group)
        if original.parked:
            message.park()  # its dead letter was not written: hold the retry topic at it
        elif original.nacked:  # the engine gave it back (stopped before handling): keep it
            await message.nack()
        elif outcome is EnumDispatchOutcome.HANDLED and self._report is not None:
            self._report.delivered()

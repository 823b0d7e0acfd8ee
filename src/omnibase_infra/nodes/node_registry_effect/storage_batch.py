"""Group commit for registration writes: writes that wait at the same time share one statement.

Each kind of write has a lane. The writes waiting in it when its statement can go (at the
loop's next round, or once its previous statement is answered) go together in one statement:
the same version-guarded writes and history rows, over one JSON array of their rows, returning
the node ids it wrote; a write that waits alone goes with its one-row statement. Under load this
replaces a round trip, a pool checkout and a commit per write with one per batch. What each
write learns is unchanged: whether its own row was written (the caller then tells a replay
from a conflict).

A batch statement that fails is not trusted to say whose fault it was: each of its writes is
then tried alone, so each gets the answer it would have got alone (a row the table refuses
fails only its own write; a lost connection fails each, and each caller's executor retries).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from uuid import UUID

from pydantic_core import to_json

from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.nodes.node_registry_effect.storage_sql import BATCH_SQL, ONE_ROW_SQL
from omnibase_infra.nodes.registration.models.enum_registration_intent_kind import (
    EnumRegistrationIntentKind,
)
from omnibase_infra.nodes.registration.models.model_registration_intent import (
    ModelRegistrationIntent,
)

__all__ = ["MAX_BATCH", "WriteBatcher"]

MAX_BATCH = 128  # rows per statement: bounds the statement's arrays and a batch's latency


@dataclass(slots=True)
class _Write:
    """One waiting write: its row's ``$n`` arguments and who waits for the answer."""

    node_id: UUID
    arguments: list[object]
    written: asyncio.Future[bool]


@dataclass(slots=True)
class _Lane:
    """The writes of one kind: whether a statement is in flight, and who waits for the next."""

    busy: bool = False
    waiting: list[_Write] = field(default_factory=list)


class WriteBatcher:
    """Writes registration rows, batching the writes of a kind that wait at the same time."""

    def __init__(self, postgres: HandlerPostgres) -> None:
        self._postgres = postgres
        self._lanes = {kind: _Lane() for kind in EnumRegistrationIntentKind}
        self._drains: set[asyncio.Task[None]] = set()
        self.statements = 0  # statements issued, for tests and benchmarks

    async def write(self, intent: ModelRegistrationIntent, arguments: list[object]) -> bool:
        """Write ``intent``'s row (``arguments``: its one-row ``$n`` values); whether it did."""
        loop = asyncio.get_running_loop()
        written: asyncio.Future[bool] = loop.create_future()
        lane = self._lanes[intent.kind]
        lane.waiting.append(_Write(intent.record.node_id, arguments, written))
        if not lane.busy:
            # The drain starts on the loop's next round, so writes that are ready to run in
            # this round join the first statement instead of waiting for the second.
            lane.busy = True
            drain = loop.create_task(self._drain(intent.kind, lane))
            self._drains.add(drain)
            drain.add_done_callback(self._drains.discard)
        return await written

    async def _drain(self, kind: EnumRegistrationIntentKind, lane: _Lane) -> None:
        """Write the lane's waiting writes, a batch per statement, until none wait."""
        try:
            while batch := _take_batch(lane):
                try:
                    await self._write_batch(kind, batch)
                except BaseException as exc:  # not an answer of the database: cancelled, or a bug
                    for w in batch:
                        _fail(w, exc)
                    if not isinstance(exc, Exception):
                        raise
        finally:
            lane.busy = False
            for w in lane.waiting:  # only if the drain itself was cancelled (shutdown)
                w.written.cancel()
            lane.waiting.clear()

    async def _alone(self, kind: EnumRegistrationIntentKind, arguments: list[object]) -> bool:
        """One write with its one-row statement; whether its row was written."""
        self.statements += 1
        return bool(await self._postgres.fetchval(ONE_ROW_SQL[kind], *arguments))

    async def _write_batch(self, kind: EnumRegistrationIntentKind, batch: list[_Write]) -> None:
        """Write ``batch`` in one statement and answer each of its writes."""
        if len(batch) == 1:
            await _settle(batch[0], self._alone(kind, batch[0].arguments))
            return
        self.statements += 1
        values = to_json([w.arguments for w in batch]).decode()
        try:
            rows = await self._postgres.fetch(BATCH_SQL[kind], values)
        except Exception:
            # Each write then gets the answer it would get alone: a row the table refuses fails
            # only its own write, a lost connection each (and each caller retries its own).
            await asyncio.gather(*(_settle(w, self._alone(kind, w.arguments)) for w in batch))
            return
        stored = {row["node_id"] for row in rows}
        for w in batch:
            if not w.written.done():
                w.written.set_result(w.node_id in stored)


def _take_batch(lane: _Lane) -> list[_Write]:
    """Up to ``MAX_BATCH`` waiting writes, at most one per node (a row is written once per
    statement); the rest wait for the next. Writes whose caller gave up are dropped."""
    batch: list[_Write] = []
    nodes: set[UUID] = set()
    left: list[_Write] = []
    for w in lane.waiting:
        if w.written.done():
            continue
        if len(batch) < MAX_BATCH and w.node_id not in nodes:
            batch.append(w)
            nodes.add(w.node_id)
        else:
            left.append(w)
    lane.waiting = left
    return batch


async def _settle(write: _Write, attempt: Coroutine[None, None, bool]) -> None:
    """Run one write's own statement and hand its answer (or its error) to its caller."""
    try:
        written = await attempt
    except BaseException as exc:
        _fail(write, exc)
        if not isinstance(exc, Exception):
            raise
        return
    if not write.written.done():
        write.written.set_result(written)


def _fail(write: _Write, exc: BaseException) -> None:
    """Hand ``exc`` to the write's caller (a cancelled flush cancels the caller's wait)."""
    if write.written.done():
        return
    if isinstance(exc, asyncio.CancelledError):
        write.written.cancel()
    else:
        write.written.set_exception(exc)

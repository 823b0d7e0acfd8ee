"""Group commit for registration writes: writes that wait at the same time share one statement.

Each kind of write has a lane. The writes waiting in it when its statement can go (at the
loop's next round, or once its previous statement is answered) go together in one statement:
the same version-guarded writes and history rows, over ``unnest`` arrays, returning the node
ids it wrote; a write that waits alone goes with its one-row statement. Under load this
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

from omnibase_infra.handlers.handler_postgres import HandlerPostgres
from omnibase_infra.nodes.registration.models.enum_registration_intent_kind import (
    EnumRegistrationIntentKind,
)
from omnibase_infra.nodes.registration.models.model_registration_intent import (
    ModelRegistrationIntent,
)

__all__ = ["MAX_BATCH", "WriteBatcher"]

MAX_BATCH = 128  # rows per statement: bounds the statement's arrays and a batch's latency

_HISTORY_OF_BATCH = """
    INSERT INTO onex_registration_history
        (node_id, transition_id, transition, from_state, to_state, node_name, correlation_id, at)
    SELECT b.node_id, b.transition_id, b.transition, b.from_state, b.state, b.node_name,
           b.correlation_id, b.updated_at
    FROM batch b JOIN written USING (node_id)
    ON CONFLICT (node_id, transition_id) DO NOTHING
"""
# Each batch statement takes one array per ``$n`` of the kind's one-row statement, in the same
# order (``intent_arguments``), and returns the node ids whose rows it wrote.
_INSERT_BATCH = f"""
WITH batch AS (
    SELECT * FROM unnest(
        $1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
        $8::text[], $9::boolean[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[],
        $13::integer[], $14::text[], $15::text[], $16::text[], $17::integer[], $18::text[],
        $19::text[], $20::text[], $21::uuid[]
    ) AS b(node_id, node_name, node_type, node_version, state, capabilities, endpoints,
           health_endpoint, acked, registered_at, last_heartbeat_at, updated_at, version,
           storage_status, discovery_status, last_error, expected_version, transition_id,
           transition, from_state, correlation_id)
), written AS (
    INSERT INTO onex_registrations (
        node_id, node_name, node_type, node_version, state, capabilities, endpoints,
        health_endpoint, acked, registered_at, last_heartbeat_at, updated_at, version,
        storage_status, discovery_status, last_error)
    SELECT node_id, node_name, node_type, node_version, state, capabilities::jsonb,
           endpoints::jsonb, health_endpoint, acked, registered_at, last_heartbeat_at,
           updated_at, version, storage_status, discovery_status, last_error
    FROM batch
    ON CONFLICT (node_id) DO UPDATE SET
        node_name = EXCLUDED.node_name, node_type = EXCLUDED.node_type,
        node_version = EXCLUDED.node_version, state = EXCLUDED.state,
        capabilities = EXCLUDED.capabilities, endpoints = EXCLUDED.endpoints,
        health_endpoint = EXCLUDED.health_endpoint, acked = EXCLUDED.acked,
        registered_at = EXCLUDED.registered_at, last_heartbeat_at = EXCLUDED.last_heartbeat_at,
        updated_at = EXCLUDED.updated_at, version = EXCLUDED.version,
        storage_status = EXCLUDED.storage_status, discovery_status = EXCLUDED.discovery_status,
        last_error = EXCLUDED.last_error
    WHERE onex_registrations.version =
        (SELECT b.expected_version FROM batch b WHERE b.node_id = EXCLUDED.node_id)
    RETURNING node_id
), history AS ({_HISTORY_OF_BATCH})
SELECT node_id FROM written
"""  # noqa: S608 - constant SQL fragments; every value is a $n parameter
_UPDATE_BATCH = f"""
WITH batch AS (
    SELECT * FROM unnest(
        $1::uuid[], $2::text[], $3::text[], $4::boolean[], $5::timestamptz[],
        $6::timestamptz[], $7::integer[], $8::text[], $9::text[], $10::text[], $11::integer[],
        $12::text[], $13::text[], $14::text[], $15::uuid[]
    ) AS b(node_id, node_name, state, acked, last_heartbeat_at, updated_at, version,
           storage_status, discovery_status, last_error, expected_version, transition_id,
           transition, from_state, correlation_id)
), written AS (
    UPDATE onex_registrations r SET
        state = b.state, acked = b.acked, last_heartbeat_at = b.last_heartbeat_at,
        updated_at = b.updated_at, version = b.version, storage_status = b.storage_status,
        discovery_status = b.discovery_status, last_error = b.last_error
    FROM batch b
    WHERE r.node_id = b.node_id AND r.version = b.expected_version
    RETURNING r.node_id
), history AS ({_HISTORY_OF_BATCH})
SELECT node_id FROM written
"""  # noqa: S608 - constant SQL fragments; every value is a $n parameter
_TOUCH_BATCH = """
UPDATE onex_registrations r SET
    last_heartbeat_at = b.last_heartbeat_at, updated_at = b.updated_at, version = b.version
FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::integer[], $5::integer[])
    AS b(node_id, last_heartbeat_at, updated_at, version, expected_version)
WHERE r.node_id = b.node_id AND r.version = b.expected_version
RETURNING r.node_id
"""
_DELETE_BATCH = f"""
WITH batch AS (
    SELECT * FROM unnest(
        $1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::integer[], $6::text[],
        $7::text[], $8::text[], $9::uuid[]
    ) AS b(node_id, node_name, state, updated_at, expected_version, transition_id,
           transition, from_state, correlation_id)
), written AS (
    DELETE FROM onex_registrations r USING batch b
    WHERE r.node_id = b.node_id AND r.version = b.expected_version
    RETURNING r.node_id
), history AS ({_HISTORY_OF_BATCH})
SELECT node_id FROM written
"""  # noqa: S608 - constant SQL fragments; every value is a $n parameter
_BATCH_SQL = {
    EnumRegistrationIntentKind.REGISTER: _INSERT_BATCH,
    EnumRegistrationIntentKind.RECORD_STATE: _UPDATE_BATCH,
    EnumRegistrationIntentKind.HEARTBEAT: _TOUCH_BATCH,
    EnumRegistrationIntentKind.DEREGISTER: _DELETE_BATCH,
}


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

    def __init__(
        self, postgres: HandlerPostgres, one_row_sql: dict[EnumRegistrationIntentKind, str]
    ) -> None:
        self._postgres = postgres
        self._one_row_sql = one_row_sql
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
        return bool(await self._postgres.fetchval(self._one_row_sql[kind], *arguments))

    async def _write_batch(self, kind: EnumRegistrationIntentKind, batch: list[_Write]) -> None:
        """Write ``batch`` in one statement and answer each of its writes."""
        if len(batch) == 1:
            await _settle(batch[0], self._alone(kind, batch[0].arguments))
            return
        self.statements += 1
        columns = [list(column) for column in zip(*(w.arguments for w in batch), strict=True)]
        try:
            rows = await self._postgres.fetch(_BATCH_SQL[kind], *columns)
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

"""Group commit of registration writes on the real PostgreSQL (``storage_batch``).

Writes that wait at the same time share one statement; each still learns exactly what it
would have learnt alone: written, a replay of its own write, a conflict, or the error of its
own row.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest
from test_registration_storage import intent, record

from omnibase_infra.errors import RuntimeHostError
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.nodes.node_registry_effect.storage import (
    RegistrationConflictError,
    RegistrationStorage,
)
from omnibase_infra.nodes.registration.models import (
    EnumRegistrationIntentKind,
    EnumRegistrationState,
    ModelRegistrationIntent,
)

pytestmark = pytest.mark.integration

K = EnumRegistrationIntentKind
S = EnumRegistrationState
_NODES = 12


async def _apply_all(
    storage: RegistrationStorage, writes: list[ModelRegistrationIntent]
) -> list[BaseException | None]:
    """Apply ``writes`` at once; each one's error, or None."""
    results = await asyncio.gather(
        *(storage.apply(w, uuid4()) for w in writes), return_exceptions=True
    )
    return [r if isinstance(r, BaseException) else None for r in results]


async def _registered(storage: RegistrationStorage, nodes: list[UUID]) -> None:
    """Register ``nodes`` (version 1) and move them to accepted (version 2), at once."""
    registers = [
        intent(K.REGISTER, record(n, S.PENDING, 1), transition="register_new", from_state="new")
        for n in nodes
    ]
    assert await _apply_all(storage, registers) == [None] * len(nodes)
    accepts = [
        intent(K.RECORD_STATE, record(n, S.ACCEPTED, 2), transition="registered", from_state="p")
        for n in nodes
    ]
    assert await _apply_all(storage, accepts) == [None] * len(nodes)


async def _history_count(postgres: HandlerPostgres, nodes: list[UUID]) -> int:
    rows = await postgres.fetch(
        "SELECT id FROM onex_registration_history WHERE node_id = ANY($1::uuid[])", nodes
    )
    return len(rows)


async def test_writes_that_wait_together_share_a_statement_and_store_each_row(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """Every kind of write, applied for many nodes at once, takes one statement per kind and
    stores each node's row and history exactly as one-row writes do."""
    postgres = postgres_migrated_handler
    storage = RegistrationStorage(postgres)
    nodes = [uuid4() for _ in range(_NODES)]
    await _registered(storage, nodes)
    assert storage.writes.statements == 2
    for node in nodes:
        assert await storage.load(node) == record(node, S.ACCEPTED, 2)
    beats = [
        intent(K.HEARTBEAT, record(n, S.ACCEPTED, 3), transition="beat", from_state="accepted")
        for n in nodes
    ]
    assert await _apply_all(storage, beats) == [None] * _NODES
    assert await storage.load(nodes[0]) == record(nodes[0], S.ACCEPTED, 3)
    gone = [
        intent(K.DEREGISTER, record(n, S.DEREGISTERED, 4), transition="bye", from_state="accepted")
        for n in nodes
    ]
    assert await _apply_all(storage, gone) == [None] * _NODES
    assert storage.writes.statements == 4
    assert [await storage.load(n) for n in nodes] == [None] * _NODES
    assert await _history_count(postgres, nodes) == 3 * _NODES  # heartbeats record none
    assert set((await storage.final_states(nodes)).values()) == {"deregistered"}


async def test_a_conflict_and_a_replay_in_a_batch_are_told_apart_per_write(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """In one batch: a write another writer overtook is a conflict, a write replayed after a
    lost reply succeeds without a second history row, and the others are written."""
    postgres = postgres_migrated_handler
    storage = RegistrationStorage(postgres)
    nodes = [uuid4() for _ in range(4)]
    await _registered(storage, nodes)
    overtaken, replayed = nodes[0], nodes[1]
    await storage.apply(
        intent(K.RECORD_STATE, record(overtaken, S.ACTIVE, 3), transition="x", from_state="a"),
        None,
    )
    replay = intent(
        K.RECORD_STATE, record(replayed, S.ACTIVE, 3), transition="acked", from_state="a"
    )
    await storage.apply(replay, None)
    before = storage.writes.statements
    writes = [
        intent(K.RECORD_STATE, record(overtaken, S.STALE, 3), transition="y", from_state="a"),
        replay,
        *(
            intent(K.RECORD_STATE, record(n, S.ACTIVE, 3), transition="acked", from_state="a")
            for n in nodes[2:]
        ),
    ]
    errors = await _apply_all(storage, writes)
    assert isinstance(errors[0], RegistrationConflictError)
    assert errors[1:] == [None, None, None]
    assert storage.writes.statements == before + 1
    stored = await storage.load(overtaken)
    assert stored is not None
    assert stored.state is S.ACTIVE  # the other writer's change stands
    assert await _history_count(postgres, [replayed]) == 3  # register, accepted, acked once


async def test_a_row_the_table_refuses_fails_only_its_own_write(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """A batch whose statement fails over one bad row is retried a write at a time: the bad
    row's write fails (typed, not retriable), every other write of the batch is stored."""
    postgres = postgres_migrated_handler
    storage = RegistrationStorage(postgres)
    nodes = [uuid4() for _ in range(5)]
    await _registered(storage, nodes)
    # 'expired' is not a state the table keeps (a CHECK constraint): PostgreSQL refuses it.
    bad = intent(K.RECORD_STATE, record(nodes[0], S.EXPIRED, 3), transition="e", from_state="a")
    good = [
        intent(K.RECORD_STATE, record(n, S.ACTIVE, 3), transition="acked", from_state="a")
        for n in nodes[1:]
    ]
    before = storage.writes.statements
    errors = await _apply_all(storage, [bad, *good])
    assert isinstance(errors[0], RuntimeHostError)
    assert not errors[0].retriable
    assert "23514" in errors[0].message  # check_violation, named by SQLSTATE
    assert errors[1:] == [None] * 4
    assert storage.writes.statements == before + 1 + 5  # the batch, then each alone
    for node in nodes[1:]:
        stored = await storage.load(node)
        assert stored is not None
        assert stored.state is S.ACTIVE
    stored = await storage.load(nodes[0])
    assert stored is not None
    assert stored.state is S.ACCEPTED


async def test_a_write_whose_caller_gave_up_while_waiting_is_not_written(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """A write cancelled before its lane's statement goes is left out of it; the writes that
    waited with it are stored."""
    storage = RegistrationStorage(postgres_migrated_handler)
    nodes = [uuid4() for _ in range(3)]
    writes = [
        asyncio.ensure_future(
            storage.apply(
                intent(K.REGISTER, record(n, S.PENDING, 1), transition="r", from_state="new"),
                None,
            )
        )
        for n in nodes
    ]
    await asyncio.sleep(0)  # each write is waiting in the lane; its statement has not gone
    writes[0].cancel()
    done = await asyncio.gather(*writes, return_exceptions=True)
    assert isinstance(done[0], asyncio.CancelledError)
    assert done[1:] == [None, None]
    assert await storage.load(nodes[0]) is None
    assert [await storage.load(n) is not None for n in nodes[1:]] == [True, True]


async def test_a_batch_stores_awkward_values_exactly_as_given(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """Quotes, backslashes, non-ASCII text, nulls and a non-UTC timestamp with microseconds
    go through a batch statement (rows sent as one JSON text) unchanged."""
    postgres = postgres_migrated_handler
    storage = RegistrationStorage(postgres)
    elsewhere = timezone(timedelta(hours=5, minutes=30))
    at = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=elsewhere)
    nodes = [uuid4() for _ in range(3)]
    records = [
        record(
            n,
            S.PENDING,
            1,
            node_name=f'node "{i}" \\ ünïcødé ✓',
            capabilities=('cap "quoted"', "ärger\\tab", "😀"),
            endpoints={"health": 'http://h/"x"', "ö": "\\"},
            health_endpoint=None if i else "http://127.0.0.1:1/health",
            registered_at=at,
            last_heartbeat_at=at,
            updated_at=at,
            last_error=None if i else 'line one\nline "two"',
        )
        for i, n in enumerate(nodes)
    ]
    correlation = uuid4()
    writes = [intent(K.REGISTER, r, transition="register_new", from_state="new") for r in records]
    results = await asyncio.gather(*(storage.apply(w, correlation) for w in writes))
    assert results == [None] * 3
    assert storage.writes.statements == 1  # one batch statement, not a write each
    assert [await storage.load(n) for n in nodes] == records
    rows = await postgres.fetch(
        "SELECT node_id, transition_id, correlation_id, at FROM onex_registration_history "
        "WHERE node_id = ANY($1::uuid[])",
        nodes,
    )
    assert {(r["node_id"], r["transition_id"], r["correlation_id"], r["at"]) for r in rows} == {
        (w.record.node_id, w.transition_id, correlation, at) for w in writes
    }

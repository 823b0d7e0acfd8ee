"""``registration.storage`` on the real PostgreSQL: one-statement writes, history, version guard.

Each write is applied by ``RegistrationStorage.apply`` exactly as the registry effect does;
the tests replay writes (a retry after a lost reply) and race writers (two registry instances)
to pin what counts as already applied and what is a conflict.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.nodes.node_registry_effect.storage import (
    RegistrationConflictError,
    RegistrationStorage,
    intent_arguments,
    write_statement,
)
from omnibase_infra.nodes.registration.models import (
    EnumBackendStatus,
    EnumRegistrationIntentKind,
    EnumRegistrationState,
    ModelRegistrationIntent,
    ModelRegistrationRecord,
)

pytestmark = pytest.mark.integration

K = EnumRegistrationIntentKind
S = EnumRegistrationState
_T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def record(
    node_id: UUID, state: EnumRegistrationState, version: int, **more: object
) -> ModelRegistrationRecord:
    """A registration record at ``version``."""
    data: dict[str, object] = {
        "node_id": node_id,
        "node_name": "storage-node",
        "node_type": "effect",
        "node_version": "1.0.0",
        "state": state,
        "capabilities": ("a", "b"),
        "endpoints": {"health": "http://127.0.0.1:1/health"},
        "health_endpoint": "http://127.0.0.1:1/health",
        "registered_at": _T0,
        "last_heartbeat_at": _T0 + timedelta(seconds=version),
        "updated_at": _T0 + timedelta(seconds=version),
        "version": version,
        "storage_status": EnumBackendStatus.OK,
        "discovery_status": EnumBackendStatus.OK,
    }
    data.update(more)
    return ModelRegistrationRecord.model_validate(data)


def intent(
    kind: EnumRegistrationIntentKind,
    new: ModelRegistrationRecord,
    *,
    transition: str,
    from_state: str,
    cause: UUID | None = None,
) -> ModelRegistrationIntent:
    """The intent writing ``new`` over version ``new.version - 1``."""
    return ModelRegistrationIntent(
        kind=kind,
        record=new,
        expected_version=new.version - 1,
        transition=transition,
        from_state=from_state,
        transition_id=f"{cause or uuid4()}:{transition}",
    )


async def _history(postgres: HandlerPostgres, node_id: UUID) -> list[tuple[str, str, str]]:
    rows = await postgres.fetch(
        "SELECT transition, from_state, to_state FROM onex_registration_history "
        "WHERE node_id = $1 ORDER BY id",
        node_id,
    )
    return [(row["transition"], row["from_state"], row["to_state"]) for row in rows]


async def test_each_write_stores_the_record_and_one_history_row(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """Register, record state, heartbeat and deregister each store the record and its history
    row together; the record reads back as written."""
    postgres = postgres_migrated_handler
    storage = RegistrationStorage(postgres)
    node = uuid4()
    pending = record(node, S.PENDING, 1)
    await storage.apply(
        intent(K.REGISTER, pending, transition="register_new", from_state="unregistered"),
        uuid4(),
    )
    assert await storage.load(node) == pending
    accepted = record(node, S.ACCEPTED, 2)
    await storage.apply(
        intent(K.RECORD_STATE, accepted, transition="registered", from_state="pending"), None
    )
    beat = record(node, S.ACCEPTED, 3)
    await storage.apply(
        intent(K.HEARTBEAT, beat, transition="heartbeat_accepted", from_state="accepted"), None
    )
    assert await storage.load(node) == beat
    gone = record(node, S.DEREGISTERED, 4)
    await storage.apply(
        intent(K.DEREGISTER, gone, transition="shutdown_accepted", from_state="accepted"), None
    )
    assert await storage.load(node) is None
    assert await _history(postgres, node) == [
        ("register_new", "unregistered", "pending"),
        ("registered", "pending", "accepted"),
        ("shutdown_accepted", "accepted", "deregistered"),
    ]
    assert await storage.final_states([node]) == {node: "deregistered"}


async def test_a_write_replayed_after_a_lost_reply_is_recognised(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """Applying the same intent again (its first reply lost) succeeds without a second write
    or history row, for every kind of write (a heartbeat writes none: it changes no state)."""
    postgres = postgres_migrated_handler
    storage = RegistrationStorage(postgres)
    node = uuid4()
    writes = [
        intent(
            K.REGISTER,
            record(node, S.PENDING, 1),
            transition="register_new",
            from_state="unregistered",
        ),
        intent(
            K.RECORD_STATE,
            record(node, S.ACCEPTED, 2),
            transition="registered",
            from_state="pending",
        ),
        intent(
            K.HEARTBEAT,
            record(node, S.ACCEPTED, 3),
            transition="heartbeat_accepted",
            from_state="accepted",
        ),
        intent(K.DEREGISTER, record(node, S.EXPIRED, 4), transition="expired", from_state="stale"),
    ]
    for write in writes:
        await storage.apply(write, None)
        await storage.apply(write, None)
    recorded = [w for w in writes if w.kind is not K.HEARTBEAT]
    assert len(await _history(postgres, node)) == len(recorded)
    assert await storage.load(node) is None


async def test_another_writers_change_at_the_same_version_is_a_conflict(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """Two writers that both read version 2: the second finds version 3 stored by the first,
    which is not its own write, so it gets a conflict (and reloads) instead of success."""
    storage = RegistrationStorage(postgres_migrated_handler)
    node = uuid4()
    await storage.apply(
        intent(
            K.REGISTER,
            record(node, S.PENDING, 1),
            transition="register_new",
            from_state="unregistered",
        ),
        None,
    )
    await storage.apply(
        intent(
            K.RECORD_STATE, record(node, S.ACTIVE, 2), transition="acked", from_state="accepted"
        ),
        None,
    )
    stale = intent(
        K.RECORD_STATE,
        record(node, S.STALE, 3),
        transition="missed_while_active",
        from_state="active",
    )
    beat = intent(
        K.HEARTBEAT, record(node, S.ACTIVE, 3), transition="heartbeat_active", from_state="active"
    )
    await storage.apply(stale, None)
    with pytest.raises(RegistrationConflictError) as caught:
        await storage.apply(beat, None)
    assert not caught.value.retriable
    stored = await storage.load(node)
    assert stored is not None
    assert (stored.state, stored.version) == (S.STALE, 3)


async def test_registering_a_node_that_is_already_stored_is_a_conflict(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """A REGISTER that expects no record (an orchestrator without the node in its projection)
    does not overwrite a stored registration: it is a conflict."""
    storage = RegistrationStorage(postgres_migrated_handler)
    node = uuid4()
    await storage.apply(
        intent(
            K.REGISTER,
            record(node, S.PENDING, 1),
            transition="register_new",
            from_state="unregistered",
        ),
        None,
    )
    await storage.apply(
        intent(
            K.RECORD_STATE,
            record(node, S.ACCEPTED, 2),
            transition="registered",
            from_state="pending",
        ),
        None,
    )
    again = intent(
        K.REGISTER,
        record(node, S.PENDING, 1, node_name="impostor"),
        transition="register_new",
        from_state="unregistered",
    )
    with pytest.raises(RegistrationConflictError):
        await storage.apply(again, None)
    stored = await storage.load(node)
    assert stored is not None
    assert (stored.node_name, stored.state) == ("storage-node", S.ACCEPTED)


async def test_compensation_removes_the_registration_and_records_it(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """Undoing a registration deletes it at its new version and records the compensation."""
    postgres = postgres_migrated_handler
    storage = RegistrationStorage(postgres)
    node = uuid4()
    write = intent(
        K.REGISTER, record(node, S.PENDING, 1), transition="register_new", from_state="unregistered"
    )
    await storage.apply(write, None)
    await storage.remove(write, None)
    await storage.remove(write, None)  # twice is harmless
    assert await storage.load(node) is None
    assert await _history(postgres, node) == [
        ("register_new", "unregistered", "pending"),
        ("compensated", "pending", "rejected"),
    ]


async def test_the_raw_statement_and_arguments_are_what_apply_issues(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """write_statement and intent_arguments (the benchmark's baseline) write the same row."""
    postgres = postgres_migrated_handler
    storage = RegistrationStorage(postgres)
    node = uuid4()
    write = intent(
        K.REGISTER, record(node, S.PENDING, 1), transition="register_new", from_state="unregistered"
    )
    written = await postgres.fetchval(write_statement(write), *intent_arguments(write, None))
    assert written == 1
    assert await storage.load(node) == write.record


async def test_liveness_scan_finds_silent_and_unacked_registrations(
    postgres_migrated_handler: HandlerPostgres,
) -> None:
    """overdue() returns live registrations silent since the deadline, and accepted ones not
    acked in time, oldest heartbeat first."""
    storage = RegistrationStorage(postgres_migrated_handler)
    silent, unacked, fresh = uuid4(), uuid4(), uuid4()
    rows = [
        (silent, S.ACTIVE, _T0),
        (unacked, S.ACCEPTED, _T0 + timedelta(minutes=10)),
        (fresh, S.ACTIVE, _T0 + timedelta(minutes=10)),
    ]
    for node, state, beat in rows:
        await storage.apply(
            intent(
                K.REGISTER,
                record(node, S.PENDING, 1),
                transition="register_new",
                from_state="unregistered",
            ),
            None,
        )
        await storage.apply(
            intent(
                K.RECORD_STATE,
                record(node, state, 2, last_heartbeat_at=beat, updated_at=_T0),
                transition="moved",
                from_state="pending",
            ),
            None,
        )
    found = await storage.overdue(
        heartbeat_before=_T0 + timedelta(minutes=5), ack_before=_T0 + timedelta(minutes=5)
    )
    assert [r.node_id for r in found] == [silent, unacked]

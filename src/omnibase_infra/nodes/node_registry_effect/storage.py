"""``registration.storage`` on PostgreSQL: current registrations plus their history.

Every write is one statement (a CTE writes the registration and its history row together, so
it is atomic without a transaction round trip) and is guarded by the record's ``version``: it
applies only if the stored version is the one the reducer saw. Writes that wait at the same
time share one statement (``storage_batch``). A write whose effect is already stored (a retry
after a lost reply) is recognised and succeeds without writing again; a write that finds
another version raises ``RegistrationConflictError`` and the orchestrator reloads.
History rows are keyed by ``(node_id, transition_id)``: never recorded twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from omnibase_infra.errors import RuntimeHostError
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.nodes.node_registry_effect.storage_batch import WriteBatcher
from omnibase_infra.nodes.node_registry_effect.storage_sql import (
    APPLIED,
    COLUMNS,
    DELETE,
    ONE_ROW_SQL,
    TOUCH_APPLIED,
)
from omnibase_infra.nodes.registration.models.enum_backend_status import EnumBackendStatus
from omnibase_infra.nodes.registration.models.enum_registration_intent_kind import (
    EnumRegistrationIntentKind,
)
from omnibase_infra.nodes.registration.models.enum_registration_state import (
    EnumRegistrationState,
)
from omnibase_infra.nodes.registration.models.model_registration_intent import (
    ModelRegistrationIntent,
)
from omnibase_infra.nodes.registration.models.model_registration_record import (
    ModelRegistrationRecord,
)

__all__ = ["RegistrationConflictError", "RegistrationStorage"]


class RegistrationConflictError(RuntimeHostError):
    """The stored registration changed since it was read (another writer won): reload.

    A conflict says nothing about PostgreSQL's health (409, not 5xx), so it never counts
    towards the storage circuit breaker: many nodes conflicting at once (another registry
    instance moved them on) must not open it for everyone.
    """

    http_status = 409


def intent_arguments(intent: ModelRegistrationIntent, correlation_id: UUID | None) -> list[object]:
    """The ``$n`` arguments of the write for ``intent`` (see ``write_statement``)."""
    r = intent.record
    if intent.kind is EnumRegistrationIntentKind.RECORD_STATE:
        return [
            r.node_id,
            r.node_name,
            r.state.value,
            r.acked,
            r.last_heartbeat_at,
            r.updated_at,
            r.version,
            r.storage_status.value,
            r.discovery_status.value,
            r.last_error,
            intent.expected_version,
            intent.transition_id,
            intent.transition,
            intent.from_state,
            correlation_id,
        ]
    if intent.kind is EnumRegistrationIntentKind.HEARTBEAT:
        return [r.node_id, r.last_heartbeat_at, r.updated_at, r.version, intent.expected_version]
    if intent.kind is EnumRegistrationIntentKind.DEREGISTER:
        return [
            r.node_id,
            r.node_name,
            r.state.value,
            r.updated_at,
            intent.expected_version,
            intent.transition_id,
            intent.transition,
            intent.from_state,
            correlation_id,
        ]
    return [
        r.node_id,
        r.node_name,
        r.node_type,
        r.node_version,
        r.state.value,
        json.dumps(list(r.capabilities)),
        json.dumps(r.endpoints),
        r.health_endpoint,
        r.acked,
        r.registered_at,
        r.last_heartbeat_at,
        r.updated_at,
        r.version,
        r.storage_status.value,
        r.discovery_status.value,
        r.last_error,
        intent.expected_version,
        intent.transition_id,
        intent.transition,
        intent.from_state,
        correlation_id,
    ]


def write_statement(intent: ModelRegistrationIntent) -> str:
    """The SQL that applies ``intent`` (exposed for the benchmark's raw-driver baseline)."""
    return ONE_ROW_SQL[intent.kind]


class RegistrationStorage:
    """Registrations in PostgreSQL (``0100_registrations.sql``)."""

    def __init__(self, postgres: HandlerPostgres) -> None:
        self._postgres = postgres
        self._writes = WriteBatcher(postgres)

    @property
    def writes(self) -> WriteBatcher:
        """The writer (group commit of writes that wait at the same time)."""
        return self._writes

    async def apply(self, intent: ModelRegistrationIntent, correlation_id: UUID | None) -> None:
        """Make the stored registration match ``intent``; idempotent, version-guarded."""
        if await self._writes.write(intent, intent_arguments(intent, correlation_id)):
            return
        # Nothing written: either an earlier attempt of this very transition already was (its
        # reply lost), which its history row proves, or another writer got there first. The
        # stored version alone cannot tell: another writer's change reaches the same number.
        record = intent.record
        row = (
            await self._postgres.fetchrow(
                TOUCH_APPLIED,
                record.node_id,
                record.version,
                record.last_heartbeat_at,
                record.state.value,
            )
            if intent.kind is EnumRegistrationIntentKind.HEARTBEAT
            else await self._postgres.fetchrow(APPLIED, record.node_id, intent.transition_id)
        )
        stored = None if row is None else row["version"]
        if row is not None and row["applied"]:
            return
        raise RegistrationConflictError(
            f"registration of {intent.record.node_id} is at version {stored}, "
            f"not {intent.expected_version}",
            retriable=False,
        )

    async def remove(self, intent: ModelRegistrationIntent, correlation_id: UUID | None) -> None:
        """Undo a registration ``intent`` wrote (compensation): delete it at its new version."""
        undo = intent.model_copy(
            update={
                "kind": EnumRegistrationIntentKind.DEREGISTER,
                "expected_version": intent.record.version,
                "transition": "compensated",
                "from_state": intent.record.state.value,
                "transition_id": f"{intent.transition_id}:compensated",
                "record": intent.record.model_copy(
                    update={"state": EnumRegistrationState.REJECTED}
                ),
            }
        )
        await self._postgres.fetchval(DELETE, *intent_arguments(undo, correlation_id))

    async def load(self, node_id: UUID) -> ModelRegistrationRecord | None:
        """The stored registration of ``node_id``, or None."""
        row = await self._postgres.fetchrow(
            f"SELECT {COLUMNS} FROM onex_registrations WHERE node_id = $1",  # noqa: S608
            node_id,
        )
        return None if row is None else _record(row)

    async def list_all(self, limit: int = 10_000) -> list[ModelRegistrationRecord]:
        """Every current registration, by name."""
        rows = await self._postgres.fetch(
            f"SELECT {COLUMNS} FROM onex_registrations ORDER BY node_name, node_id LIMIT $1",  # noqa: S608
            limit,
        )
        return [_record(row) for row in rows]

    async def list_page(
        self,
        *,
        limit: int,
        after: tuple[str, UUID] | None = None,
        state: str | None = None,
    ) -> list[ModelRegistrationRecord]:
        """At most ``limit`` registrations by (name, id) after ``after``, optionally in one
        ``state``: a keyset page (an index range scan, see migration 0101)."""
        # Two statements, not one with "$1 IS NULL OR ...": a row comparison on its own is
        # what lets PostgreSQL start the index scan at the cursor.
        if after is None:
            rows = await self._postgres.fetch(
                f"SELECT {COLUMNS} FROM onex_registrations "  # noqa: S608
                "WHERE ($1::text IS NULL OR state = $1) ORDER BY node_name, node_id LIMIT $2",
                state,
                limit,
            )
        else:
            rows = await self._postgres.fetch(
                f"SELECT {COLUMNS} FROM onex_registrations "  # noqa: S608
                "WHERE (node_name, node_id) > ($1, $2) AND ($3::text IS NULL OR state = $3) "
                "ORDER BY node_name, node_id LIMIT $4",
                after[0],
                after[1],
                state,
                limit,
            )
        return [_record(row) for row in rows]

    async def count_by_state(self) -> dict[str, int]:
        """How many current registrations are in each state."""
        rows = await self._postgres.fetch(
            "SELECT state, count(*) AS n FROM onex_registrations GROUP BY state"
        )
        return {str(row["state"]): int(row["n"]) for row in rows}

    async def fleet_rows(self) -> list[tuple[str, str, str, int, datetime | None]]:
        """(state, storage status, discovery status, registrations, latest heartbeat) for
        each combination present: the fleet counted in one aggregate query."""
        rows = await self._postgres.fetch(
            "SELECT state, storage_status, discovery_status, count(*) AS n, "
            "max(last_heartbeat_at) AS latest FROM onex_registrations "
            "GROUP BY state, storage_status, discovery_status"
        )
        return [
            (
                str(row["state"]),
                str(row["storage_status"]),
                str(row["discovery_status"]),
                int(row["n"]),
                row["latest"],
            )
            for row in rows
        ]

    async def overdue(
        self, *, heartbeat_before: datetime, ack_before: datetime, limit: int = 500
    ) -> list[ModelRegistrationRecord]:
        """Live registrations silent since ``heartbeat_before``, or accepted and not acked
        since ``ack_before`` (oldest first)."""
        rows = await self._postgres.fetch(
            f"SELECT {COLUMNS} FROM onex_registrations "  # noqa: S608
            "WHERE (state IN ('pending', 'accepted', 'active', 'stale') "
            "AND last_heartbeat_at < $1) "
            "OR (state = 'accepted' AND updated_at < $2) "
            "ORDER BY last_heartbeat_at LIMIT $3",
            heartbeat_before,
            ack_before,
            limit,
        )
        return [_record(row) for row in rows]

    async def final_states(self, node_ids: Sequence[UUID]) -> dict[UUID, str]:
        """The last recorded state of each node (from history), current or removed."""
        rows = await self._postgres.fetch(
            "SELECT DISTINCT ON (node_id) node_id, to_state FROM onex_registration_history "
            "WHERE node_id = ANY($1::uuid[]) ORDER BY node_id, at DESC, id DESC",
            list(node_ids),
        )
        return {row["node_id"]: row["to_state"] for row in rows}


def _record(row: asyncpg.Record) -> ModelRegistrationRecord:
    return ModelRegistrationRecord(
        node_id=row["node_id"],
        node_name=row["node_name"],
        node_type=row["node_type"],
        node_version=row["node_version"],
        state=EnumRegistrationState(row["state"]),
        capabilities=tuple(json.loads(row["capabilities"])),
        endpoints=json.loads(row["endpoints"]),
        health_endpoint=row["health_endpoint"],
        acked=row["acked"],
        registered_at=row["registered_at"],
        last_heartbeat_at=row["last_heartbeat_at"],
        updated_at=row["updated_at"],
        version=row["version"],
        storage_status=EnumBackendStatus(row["storage_status"]),
        discovery_status=EnumBackendStatus(row["discovery_status"]),
        last_error=row["last_error"],
    )

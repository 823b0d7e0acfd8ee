"""The record of DLQ replays in PostgreSQL (table ``onex_dlq_replays``, migration 0200)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from omnibase_infra.cli.dlq.model_kafka_dlq_entry import ModelKafkaDlqEntry
from omnibase_infra.cli.dlq.model_kafka_dlq_replay import ModelKafkaDlqReplay
from omnibase_infra.cli.dlq.replay import PublishStep
from omnibase_infra.event_bus.dlq import ModelDlqRecord
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres

__all__ = ["DlqReplayStore"]

_INSERT = """
INSERT INTO onex_dlq_replays (
    replay_id, dlq_record_id, dlq_topic, dlq_partition, dlq_offset, original_topic,
    consumer_group, error_type, correlation_id, replayed_by
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""
_COUNTS = """
SELECT dlq_record_id, count(*) AS replays FROM onex_dlq_replays
WHERE dlq_record_id = ANY($1) GROUP BY dlq_record_id
"""
_HISTORY = """
SELECT dlq_record_id, original_topic, correlation_id, replayed_at, replayed_by
FROM onex_dlq_replays WHERE dlq_record_id = $1 ORDER BY replayed_at
"""


class DlqReplayStore:
    """Records replays; a replay's row commits only after its publish was acknowledged."""

    def __init__(self, handler: HandlerPostgres, *, replayed_by: str) -> None:
        self._handler = handler
        self._replayed_by = replayed_by

    async def replay_counts(self, record_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        """How many times each of ``record_ids`` was replayed (absent: never)."""
        if not record_ids:
            return {}
        rows = await self._handler.fetch(_COUNTS, list(record_ids))
        return {row["dlq_record_id"]: int(row["replays"]) for row in rows}

    async def record_replay(
        self, entry: ModelKafkaDlqEntry, record: ModelDlqRecord, publish: PublishStep
    ) -> None:
        """Insert the replay row, publish, then commit (a failed publish rolls the row back)."""
        async with self._handler.transaction() as tx:
            await tx.execute(
                _INSERT,
                uuid.uuid4(),
                record.record_id,
                entry.dlq_topic,
                entry.partition,
                entry.offset,
                record.original_topic,
                record.consumer_group,
                record.error_type,
                record.correlation_id,
                self._replayed_by,
            )
            await publish()

    async def history(self, record_id: uuid.UUID) -> list[ModelKafkaDlqReplay]:
        """Every recorded replay of one dead letter, oldest first."""
        rows = await self._handler.fetch(_HISTORY, record_id)
        return [ModelKafkaDlqReplay.model_validate(dict(row.items())) for row in rows]

"""Which dead letters a DLQ listing or replay selects (every given criterion must hold)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from omnibase_infra.cli.dlq.model_kafka_dlq_entry import ModelKafkaDlqEntry

__all__ = ["ModelKafkaDlqFilter"]


class ModelKafkaDlqFilter(BaseModel):
    """Filters on original topic, error type, last-failure time range and correlation id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str | None = None
    error_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    correlation_id: UUID | None = None
    record_ids: frozenset[UUID] = frozenset()

    def matches(self, entry: ModelKafkaDlqEntry) -> bool:
        """Whether ``entry`` satisfies every criterion set (entries without a record never do)."""
        record = entry.record
        if record is None:
            return False
        checks = (
            self.topic is None or record.original_topic == self.topic,
            self.error_type is None or record.error_type == self.error_type,
            self.since is None or record.last_failure_at >= self.since,
            self.until is None or record.last_failure_at <= self.until,
            self.correlation_id is None or record.correlation_id == self.correlation_id,
            not self.record_ids or record.record_id in self.record_ids,
        )
        return all(checks)

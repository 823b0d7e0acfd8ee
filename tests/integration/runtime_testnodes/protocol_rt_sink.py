"""What the record effect hands its intents to; tests register an implementation by type."""

from typing import Protocol
from uuid import UUID

from runtime_testnodes.models import ModelRtRecordJob


class ProtocolRtSink(Protocol):
    """Receives every recorded job with the ids of the envelope that carried it."""

    async def record(
        self,
        job: ModelRtRecordJob,
        *,
        correlation_id: UUID,
        envelope_id: UUID,
        parent_envelope_id: UUID | None,
    ) -> None:
        """Keep one recorded job."""
        ...

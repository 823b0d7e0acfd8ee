"""What one ``dlq replay`` run did: what it replayed, and why it left the rest."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra.cli.dlq.model_kafka_dlq_entry import ModelKafkaDlqEntry

__all__ = ["ModelKafkaDlqReplayRun"]


class ModelKafkaDlqReplayRun(BaseModel):
    """The dead letters a replay run selected, replayed, and skipped (with the reason)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    selected: int = Field(ge=0)
    replayed: tuple[ModelKafkaDlqEntry, ...] = ()
    already_replayed: int = Field(default=0, ge=0, description="skipped: replayed before")
    parked: int = Field(default=0, ge=0, description="skipped: failed max_replays replays")
    max_replays: int = Field(ge=1)

    def summary(self) -> str:
        """One line: how many were replayed of how many, and why the others were not."""
        line = f"replayed {len(self.replayed)} of {self.selected} dead letter(s)"
        reasons = []
        if self.already_replayed:
            reasons.append(f"{self.already_replayed} already replayed (use --again)")
        if self.parked:
            reasons.append(
                f"{self.parked} parked after {self.max_replays} failed replay(s) "
                "(raise --max-replays to replay them)"
            )
        return f"{line}: {'; '.join(reasons)}" if reasons else line

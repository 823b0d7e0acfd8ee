"""What claiming an idempotency key found."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EnumIdempotencyOutcome"]


class EnumIdempotencyOutcome(StrEnum):
    """CLAIMED: run the side effect. COMPLETED: done before, replay. IN_PROGRESS: wait."""

    CLAIMED = "claimed"
    COMPLETED = "completed"
    IN_PROGRESS = "in_progress"

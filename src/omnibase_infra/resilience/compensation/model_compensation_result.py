"""The outcome of a multi-step effect: what ran, what failed, what was undone."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, JsonValue

from omnibase_infra.resilience.compensation.model_compensation_failure import (
    ModelCompensationFailure,
)

__all__ = ["ModelCompensationResult"]


class ModelCompensationResult(BaseModel):
    """Steps in the order they completed; compensations in the (reverse) order they ran.

    ``succeeded``: every step completed (nothing was compensated). Otherwise ``failed_step``
    and ``error`` say where and why it stopped, ``compensated_steps`` the steps undone,
    ``compensation_failures`` the undo actions that failed, and ``fully_compensated`` whether
    everything completed was undone (steps declared without a compensation need none).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    effect: str
    succeeded: bool
    completed_steps: tuple[str, ...] = ()
    results: dict[str, JsonValue] = {}
    failed_step: str | None = None
    error: str | None = None
    compensated_steps: tuple[str, ...] = ()
    compensation_failures: tuple[ModelCompensationFailure, ...] = ()

    @property
    def fully_compensated(self) -> bool:
        """A failed run whose every compensation succeeded."""
        return not self.succeeded and not self.compensation_failures

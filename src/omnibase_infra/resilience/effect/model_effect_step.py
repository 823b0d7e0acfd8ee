"""One step of a multi-step effect and the compensation that undoes it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelEffectStep"]


class ModelEffectStep(BaseModel):
    """A step of a multi-step effect and the compensation that undoes it, both by name.

    The runtime runs the steps in order (each under the node's executor) and, when one fails,
    the compensations of the completed ones in reverse. The outcome, a
    ``ModelCompensationResult``, is published when the contract declares that model as a
    result; otherwise a failure goes to the failure policy (the step's own error, or a
    non-retriable one when a compensation failed too).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(
        min_length=1,
        max_length=200,
        description="The step, a key of the handler's `step_actions(context)`.",
    )
    compensation: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="What undoes the step, a key of the handler's `step_compensations(context)` "
        "(null: nothing to undo).",
    )

"""The event a YAML-only orchestrator publishes when one of its workflow's steps failed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelWorkflowStepFailed"]


class ModelWorkflowStepFailed(BaseModel):
    """Which workflow and step failed on which event, and why (sanitised, bounded)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workflow: str
    step: str
    node_type: str
    trigger: str
    error_type: str
    reason: str

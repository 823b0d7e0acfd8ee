"""Errors of the declarative machinery."""

from __future__ import annotations

from omnibase_infra.errors import RuntimeHostError

__all__ = ["WorkflowStepError"]


class WorkflowStepError(RuntimeHostError):
    """A workflow step returned nothing usable (no result, or output only orchestrators emit)."""

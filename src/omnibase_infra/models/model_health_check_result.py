"""The result of one health ping (a handler's, the bus's, a store's)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra.sanitize import sanitize_text

__all__ = ["ModelHealthCheckResult"]


class ModelHealthCheckResult(BaseModel):
    """Whether a dependency answered, how fast, and a sanitised detail when it did not."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    healthy: bool
    latency_ms: float = Field(default=0.0, ge=0.0)
    detail: str | None = None

    @classmethod
    def failed(
        cls, name: str, error: BaseException, latency_ms: float = 0.0
    ) -> ModelHealthCheckResult:
        """A failed ping, describing the error without leaking what it carries."""
        return cls(
            name=name,
            healthy=False,
            latency_ms=latency_ms,
            detail=sanitize_text(f"{type(error).__name__}: {error}")[:500],
        )

"""Liveness and handshake timing of node registration (runtime config, ``registration:``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ModelRegistrationSettings"]


class ModelRegistrationSettings(BaseModel):
    """How long a node may stay silent, and how often the runtime checks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    stale_after_seconds: float = Field(default=30.0, gt=0)
    expire_after_seconds: float = Field(default=90.0, gt=0)
    ack_timeout_seconds: float = Field(default=30.0, gt=0)
    tick_interval_seconds: float = Field(default=5.0, gt=0)
    liveness_scan_limit: int = Field(default=500, ge=1)
    cache_size: int = Field(default=100_000, ge=1)
    request_introspection_interval_seconds: float = Field(
        default=30.0, gt=0, description="at most one request-introspection per unknown node"
    )

    @model_validator(mode="after")
    def _ordered(self) -> ModelRegistrationSettings:
        if self.expire_after_seconds <= self.stale_after_seconds:
            raise ValueError("expire_after_seconds must exceed stale_after_seconds")
        return self

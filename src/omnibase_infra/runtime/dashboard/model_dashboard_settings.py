"""``dashboard:``: the live, read-only dashboard of the runtime."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnibase_infra.ingress.model_ingress_settings import is_loopback_host

__all__ = ["ModelDashboardSettings"]


class ModelDashboardSettings(BaseModel):
    """The dashboard on ``host:port`` (no authentication: loopback only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool | None = Field(
        default=None, description="null: on in the local profile, off in production"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8096, ge=0, le=65535, description="0 picks a free port")
    interval_seconds: float = Field(
        default=1.0, ge=0.1, le=60.0, description="how often the page is sent new figures"
    )
    max_viewers: int = Field(
        default=16, ge=1, le=1000, description="open live pages at most (more: 503)"
    )

    @model_validator(mode="after")
    def _loopback_only(self) -> ModelDashboardSettings:
        if not is_loopback_host(self.host):
            raise ValueError(
                f"dashboard.host {self.host!r} is not a loopback address: the dashboard has no "
                "authentication; bind 127.0.0.1 and put an authenticating proxy in front"
            )
        return self

    def serves(self, profile: str) -> bool:
        """Whether the dashboard runs under ``profile`` (``enabled`` unset: local only)."""
        return self.enabled if self.enabled is not None else profile == "local"

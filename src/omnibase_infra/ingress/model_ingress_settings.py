"""The ingress: HTTP publishing into the bus on the event-bus port (8083)."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnibase_infra.ingress.model_ingress_auth_settings import ModelIngressAuthSettings

__all__ = ["ModelIngressSettings", "is_loopback_host"]


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` binds the loopback interface only (``localhost``, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ModelIngressSettings(BaseModel):
    """``POST /v1/events/{topic}`` (and ``.../batch``) and ``GET /v1/events/{topic}/stream`` on
    ``host:port``; without ``auth`` loopback only. A batch's events count one by one against
    the rate limit."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8083, ge=0, le=65535, description="0 picks a free port")
    max_body_bytes: int = Field(
        default=256 * 1024, ge=1024, description="larger request bodies are refused with 413"
    )
    max_batch_events: int = Field(
        default=1000, ge=1, description="events in one batch POST; more are refused with 413"
    )
    max_batch_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="batch request bodies larger than this are refused with 413",
    )
    rate_per_second: float = Field(
        default=20_000.0, gt=0, description="per client (token subject, else address): refill"
    )
    rate_burst: int = Field(default=20_000, ge=1, description="per client: bucket size")
    max_clients: int = Field(
        default=10_000, ge=1, description="rate-limit buckets kept (least recent dropped)"
    )
    max_streams: int = Field(
        default=64, ge=1, description="open GET /v1/events/{topic}/stream streams (onex-infra tail)"
    )
    stream_queue_events: int = Field(
        default=1000,
        ge=1,
        description="events queued per stream; a client falling further behind is dropped",
    )
    producer: str = Field(
        default="ingress",
        min_length=1,
        description="producer of the envelopes the ingress wraps around bare payloads",
    )
    auth: ModelIngressAuthSettings | None = Field(
        default=None, description="OIDC bearer tokens (null: no auth, loopback only)"
    )

    @model_validator(mode="after")
    def _open_only_with_auth(self) -> ModelIngressSettings:
        if self.enabled and self.auth is None and not is_loopback_host(self.host):
            raise ValueError(
                f"ingress.host {self.host!r} is not a loopback address and ingress.auth is not "
                "configured: anyone who reaches it could publish; configure ingress.auth or "
                "bind 127.0.0.1"
            )
        return self

"""A health check attached to a registered service: a TTL the service renews, or a polled URL."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from omnibase_infra.handlers.discovery.enum_check_status import EnumCheckStatus
from omnibase_infra.http_url import http_url_problem

__all__ = ["CHECK_ID_PATTERN", "MIN_DEREGISTER_CRITICAL_SECONDS", "ModelDiscoveryCheck"]

CHECK_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$"
# Consul raises a smaller DeregisterCriticalServiceAfter to one minute; we refuse it instead of
# letting a caller believe a shorter value is honoured.
MIN_DEREGISTER_CRITICAL_SECONDS = 60.0
_MIN_INTERVAL_SECONDS = 1.0  # Consul's minimum check interval


class ModelDiscoveryCheck(BaseModel):
    """Exactly one kind: ``ttl_seconds`` (renewed by the service) or ``http_url`` + interval.

    A check starts ``critical`` unless ``initial_status`` says otherwise (as in Consul). A TTL
    check goes critical when it is not renewed within its TTL; an HTTP check is polled every
    ``interval_seconds``: 2xx is passing, 429 warning, anything else critical.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    check_id: str | None = Field(default=None, pattern=CHECK_ID_PATTERN)
    name: str | None = Field(default=None, min_length=1, max_length=255)
    ttl_seconds: float | None = Field(default=None, gt=0, le=86_400)
    http_url: str | None = Field(default=None, max_length=2048)
    interval_seconds: float | None = Field(default=None, ge=_MIN_INTERVAL_SECONDS, le=86_400)
    timeout_seconds: float | None = Field(default=None, gt=0, le=300)
    deregister_critical_after_seconds: float | None = Field(
        default=None, ge=MIN_DEREGISTER_CRITICAL_SECONDS, le=7 * 86_400
    )
    initial_status: EnumCheckStatus | None = None
    notes: str | None = Field(default=None, max_length=1024)

    @field_validator("http_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        """Only plain http(s) URLs with a host; no credentials (they would be stored in Consul)."""
        if value is None:
            return None
        problem = http_url_problem(value, allow_credentials=False)
        if problem is not None:
            raise ValueError(f"http_url {problem}")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> ModelDiscoveryCheck:
        """A check is either TTL or HTTP, and an HTTP check needs an interval."""
        if (self.ttl_seconds is None) == (self.http_url is None):
            raise ValueError("a check needs exactly one of ttl_seconds or http_url")
        if self.http_url is not None and self.interval_seconds is None:
            raise ValueError("an HTTP check needs interval_seconds")
        if self.ttl_seconds is not None and (
            self.interval_seconds is not None or self.timeout_seconds is not None
        ):
            raise ValueError("a TTL check takes no interval_seconds or timeout_seconds")
        return self

    @property
    def is_ttl(self) -> bool:
        """Whether the service renews this check itself."""
        return self.ttl_seconds is not None

"""How a failed message is retried before it is dead-lettered (bounded exponential delay)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnibase_infra.errors import ProtocolConfigurationError

__all__ = ["ModelRetrySettings"]


class ModelRetrySettings(BaseModel):
    """Attempts and delays of the retry failure policy (``event_bus.retry``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Total deliveries including the first: 3 means two retries, then the DLQ.
    max_attempts: int = Field(default=3, ge=1, le=10)
    base_delay_seconds: float = Field(default=1.0, ge=0.0)
    multiplier: float = Field(default=2.0, ge=1.0)
    # The configured bound: no retry waits longer, and no retry partition is held longer.
    max_delay_seconds: float = Field(default=60.0, gt=0.0)
    # Errors that say retrying cannot help (invalid input, configuration) go to the DLQ at once.
    retry_non_retriable: bool = False

    @model_validator(mode="after")
    def _check_bound(self) -> Self:
        """The base delay must fit under the bound."""
        if self.base_delay_seconds > self.max_delay_seconds:
            raise ProtocolConfigurationError(
                "base_delay_seconds must not exceed max_delay_seconds",
                field="retry.base_delay_seconds",
            )
        return self

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before delivery ``attempt`` (2 for the first retry), capped."""
        exponent = max(attempt - 2, 0)
        return min(self.base_delay_seconds * self.multiplier**exponent, self.max_delay_seconds)

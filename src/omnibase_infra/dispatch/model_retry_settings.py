"""How a failed message is retried before it is dead-lettered (bounded exponential delay).

Two budgets, chosen by what the failure says:

- a dependency is unavailable (connection refused, timeout, circuit open: see
  ``errors.is_dependency_unavailable``): the message is retried for ``outage_budget_seconds``
  from its first failure, however many attempts that takes, so an outage of a few minutes
  loses nothing;
- any other retriable failure (a bug, a conflict): ``max_attempts`` deliveries in all.

Invalid input and bad configuration are never retried.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnibase_infra.errors import ProtocolConfigurationError

__all__ = ["ModelRetrySettings"]


class ModelRetrySettings(BaseModel):
    """Attempts, delays and outage budget of the failure policy (``dispatch.failure_policy``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Total deliveries including the first: 3 means two retries, then the DLQ. Also the number
    # of retry levels (retry topics on Kafka): attempts past it share the last level.
    max_attempts: int = Field(default=3, ge=1, le=10)
    base_delay_seconds: float = Field(default=1.0, ge=0.0)
    multiplier: float = Field(default=2.0, ge=1.0)
    # The configured bound: no retry waits longer, and no retry partition is held longer. It
    # is also how long held messages may still wait once a dependency is back.
    max_delay_seconds: float = Field(default=5.0, gt=0.0)
    # How long a message failing because a dependency is unavailable keeps being retried,
    # from its first failure (0: like any other failure). 5 minutes rides out a database
    # restart or failover, a broker or agent restart, with room to spare.
    outage_budget_seconds: float = Field(default=300.0, ge=0.0, le=86_400.0)
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

    @classmethod
    def dead_letter_at_once(cls) -> ModelRetrySettings:
        """A retry budget of 0: one delivery, no outage budget; a failure is dead-lettered."""
        return cls(max_attempts=1, outage_budget_seconds=0.0)

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before delivery ``attempt`` (2 for the first retry), capped."""
        exponent = max(attempt - 2, 0)
        return min(self.base_delay_seconds * self.multiplier**exponent, self.max_delay_seconds)

    @property
    def last_level(self) -> int:
        """The highest retry level (attempt number with its own retry topic); 1: none."""
        if self.max_attempts > 1:
            return self.max_attempts
        return 2 if self.outage_budget_seconds > 0 else 1

    def level_of(self, attempt: int) -> int:
        """The retry level delivery ``attempt`` waits in (later outage retries share the last)."""
        return min(attempt, self.last_level)

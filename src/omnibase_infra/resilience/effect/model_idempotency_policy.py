"""How an effect recognises a redelivered message: the ``idempotency`` part of its policy."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["ModelIdempotencyPolicy"]


class ModelIdempotencyPolicy(BaseModel):
    """On by default: a message whose key was already handled causes no second side effect.

    The key is the envelope id, or, when ``business_key_fields`` names payload fields (dotted
    paths such as ``registration.node_id``), the values of those fields, so that two different
    messages asking for the same thing are also recognised.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    business_key_fields: tuple[str, ...] = ()
    ttl_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=60,
        description="How long a completed key is remembered (and its result replayed).",
    )
    lease_seconds: float = Field(
        default=300.0,
        gt=0,
        le=24 * 3600,
        description="How long an unfinished claim blocks duplicates before it counts as abandoned.",
    )

    @field_validator("business_key_fields")
    @classmethod
    def _paths_are_dotted_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Each field is a non-empty dotted path of non-empty names, listed once."""
        for path in value:
            if not path or any(not part.strip() for part in path.split(".")):
                raise ValueError(f"business key field {path!r} is not a dotted field path")
        if len(set(value)) != len(value):
            raise ValueError("business key fields must be distinct")
        return value

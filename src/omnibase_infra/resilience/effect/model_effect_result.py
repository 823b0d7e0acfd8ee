"""The outcome of one effect execution: its value and how it was obtained."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, JsonValue

__all__ = ["ModelEffectResult"]


class ModelEffectResult(BaseModel):
    """The value, and whether it is a fallback (``degraded``) or a duplicate's stored result.

    ``replayed`` means the message was handled before (same idempotency key): no side effect
    ran now and ``value`` is the result recorded then. ``error`` says (sanitised) why a degraded
    result was returned.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: JsonValue
    degraded: bool = False
    replayed: bool = False
    error: str | None = None

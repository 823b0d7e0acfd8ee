"""What an effect returns instead of failing when its dependency is down: ``fallback``."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

__all__ = ["ModelEffectFallback"]


class ModelEffectFallback(BaseModel):
    """A declared degraded answer: a static value, or a fallback handler registered by name.

    It applies only when the dependency failed (timeout, unavailable, open circuit, connection
    error: a server-side error) after the retry policy gave up; a client error (bad input,
    authentication) is never hidden behind a fallback. The result then says ``degraded``.
    A handler name is looked up in the mapping the executor was built with, never imported;
    the runtime registers every EFFECT node it loads under its node name, so a contract's
    ``{kind: handler, handler: node_orders_db_effect}`` falls back to that node's handler
    (under that node's own policy).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["static", "handler"] = Field(
        description="`static`: answer `value`; `handler`: hand the message to the EFFECT node "
        "named by `handler`."
    )
    value: JsonValue = Field(default=None, description="The static answer (`kind: static`).")
    handler: str | None = Field(
        default=None,
        description="The node name of another EFFECT node the runtime loads, with one handler; "
        "it answers under its own error_handling, and its result is published as this node's "
        "(declare its result model here too). Fallbacks may chain but not form a cycle.",
    )

    @model_validator(mode="after")
    def _kind_matches_fields(self) -> Self:
        """A handler fallback names its handler; a static one carries a value and no handler."""
        if self.kind == "handler" and not self.handler:
            raise ValueError("a fallback of kind 'handler' needs 'handler' (a registered name)")
        if self.kind == "static" and self.handler is not None:
            raise ValueError("a fallback of kind 'static' takes 'value', not 'handler'")
        return self

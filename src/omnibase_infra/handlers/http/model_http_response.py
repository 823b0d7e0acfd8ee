"""A completed outbound HTTP exchange: status, headers and the (bounded) body."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter

__all__ = ["ModelHttpResponse"]

_JSON: TypeAdapter[JsonValue] = TypeAdapter(JsonValue)


class ModelHttpResponse(BaseModel):
    """What a server answered; ``url`` has no credentials or query, the body is not in repr."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str
    url: str
    status_code: int = Field(ge=100, le=599)
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    body: bytes = Field(default=b"", repr=False)

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced)."""
        return self.body.decode(errors="replace")

    def json_body(self) -> JsonValue:
        """The body parsed as JSON (raises pydantic's ``ValidationError`` if it is not)."""
        return _JSON.validate_json(self.body)

"""Payloads as the declarative handlers read them: plain JSON, fields by dotted path."""

from __future__ import annotations

from pydantic import BaseModel, JsonValue

__all__ = ["as_json", "field_value"]


def as_json(payload: BaseModel | JsonValue) -> JsonValue:
    """The payload as JSON (a typed payload dumped in JSON mode)."""
    return payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload


def field_value(data: JsonValue, path: str) -> JsonValue:
    """The value at ``path`` (dots descend into objects), None when absent."""
    current = data
    for segment in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(segment)
    return current

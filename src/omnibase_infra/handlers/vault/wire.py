"""Vault's HTTP API shapes: safe API paths, JSON bodies, and its ``errors`` list."""

from __future__ import annotations

from urllib.parse import quote

import httpx
from pydantic import JsonValue, TypeAdapter, ValidationError

from omnibase_infra.errors import (
    InfraConnectionError,
    ModelInfraErrorContext,
    ProtocolConfigurationError,
)

__all__ = ["as_object", "json_object", "json_or_empty", "vault_errors", "vault_path"]

_JSON_OBJECT: TypeAdapter[dict[str, JsonValue]] = TypeAdapter(dict[str, JsonValue])


def vault_path(path: str, *, allow_empty: bool = False) -> str:
    """A Vault API path from user input: segments URL-quoted, no traversal, no empty path."""
    segments = [segment for segment in path.strip("/").split("/") if segment]
    if any(segment in (".", "..") for segment in segments):
        raise ProtocolConfigurationError(f"path must not contain '.' or '..' segments: {path!r}")
    if not segments and not allow_empty:
        raise ProtocolConfigurationError("path must not be empty")
    return "/".join(quote(segment, safe="") for segment in segments)


def json_or_empty(response: httpx.Response) -> dict[str, JsonValue]:
    """The response body as a JSON object, or ``{}`` when it is not one."""
    try:
        return _JSON_OBJECT.validate_json(response.content)
    except ValidationError:
        return {}


def json_object(response: httpx.Response, context: ModelInfraErrorContext) -> dict[str, JsonValue]:
    """The response body as a JSON object; a body that is not one is a protocol failure."""
    try:
        return _JSON_OBJECT.validate_json(response.content)
    except ValidationError as e:
        raise InfraConnectionError(
            "Vault replied with a body that is not a JSON object", context=context
        ) from e


def as_object(value: JsonValue) -> dict[str, JsonValue]:
    """``value`` when it is a JSON object, else ``{}`` (Vault sends ``null`` for no data)."""
    return value if isinstance(value, dict) else {}


def vault_errors(response: httpx.Response) -> str:
    """Vault's ``errors`` list joined into one line (sanitised later by the error)."""
    errors = json_or_empty(response).get("errors")
    if not isinstance(errors, list):
        return ""
    text = "; ".join(str(item) for item in errors if item)
    return " ".join(text.split())[:300]  # Vault nests multi-line error lists

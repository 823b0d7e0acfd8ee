"""Reads a node's introspection, in core's shape or the published package's, into one model.

Core's ``ModelNodeIntrospectionEvent`` (``node_name``, ``version``, ``capabilities``) and the
published omnibase-infra package's payload (``node_version``, ``declared_capabilities``,
``endpoints``, ``reason``) share a topic and even a class name, so the shape is recognised by
its fields, then validated strictly with the matching model. Anything else is rejected with a
reason that never echoes the payload's values.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from uuid import UUID

from pydantic import JsonValue, ValidationError

from omnibase_infra._core import ModelNodeIntrospectionEvent
from omnibase_infra.errors import EnvelopeValidationError
from omnibase_infra.event_bus.codec import first_validation_error
from omnibase_infra.nodes.registration.models.model_published_introspection import (
    ModelPublishedIntrospection,
)
from omnibase_infra.nodes.registration.models.model_registration_request import (
    ModelRegistrationRequest,
    NodeTypeName,
)

__all__ = ["IntrospectionValidationError", "normalize_introspection", "semver_text"]

_NODE_TYPES: dict[str, NodeTypeName] = {
    "effect": "effect",
    "compute": "compute",
    "reducer": "reducer",
    "orchestrator": "orchestrator",
    "runtime_host": "runtime_host",
}


class IntrospectionValidationError(EnvelopeValidationError):
    """An introspection payload cannot be registered; the message is the public reason."""


def semver_text(value: JsonValue | object) -> str:
    """``1.2.3`` from a semver mapping, a ``ModelSemVer``-like object or a string."""
    if isinstance(value, dict):
        return f"{value.get('major', 0)}.{value.get('minor', 0)}.{value.get('patch', 0)}"
    major = getattr(value, "major", None)
    if major is not None:
        return f"{major}.{getattr(value, 'minor', 0)}.{getattr(value, 'patch', 0)}"
    return str(value) if value not in (None, "") else "0.0.0"


def _node_type(raw: str) -> NodeTypeName:
    name = raw.strip().lower().removesuffix("_generic")
    node_type = _NODE_TYPES.get(name)
    if node_type is None:
        raise IntrospectionValidationError(
            f"node_type must be one of {', '.join(_NODE_TYPES)} (got an unknown archetype)"
        )
    return node_type


def normalize_introspection(payload: JsonValue) -> ModelRegistrationRequest:
    """The registration request a payload describes; raises ``IntrospectionValidationError``."""
    if not isinstance(payload, dict):
        raise IntrospectionValidationError("introspection payload must be a JSON object")
    if "declared_capabilities" in payload or "node_version" in payload:
        return _from_published(payload)
    return _from_core(payload)


def _from_core(payload: dict[str, JsonValue]) -> ModelRegistrationRequest:
    # Core 0.47.57's validator hashes every *string* node_id into a new UUID, so its own JSON
    # does not round-trip (tests/unit/test_core_surface.py pins this). A string that already
    # is a UUID is passed as one, keeping the node's id.
    data: dict[str, object] = dict(payload)
    raw_id = payload.get("node_id")
    if isinstance(raw_id, str):
        with contextlib.suppress(ValueError):  # a name-like id: core derives a UUID from it
            data["node_id"] = UUID(raw_id)
    try:
        event = ModelNodeIntrospectionEvent.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None
    capability = event.capabilities.value
    return _request(
        node_id=event.node_id,
        node_name=event.node_name,
        node_type=_node_type(event.node_type),
        node_version=semver_text(event.version),
        capabilities=(capability,) if capability else (),
        health_endpoint=event.health_endpoint,
        observed_at=event.timestamp,
        source_shape="core",
    )


def _from_published(payload: dict[str, JsonValue]) -> ModelRegistrationRequest:
    try:
        event = ModelPublishedIntrospection.model_validate(payload)
    except ValidationError as exc:
        raise _invalid(exc) from None
    capabilities = tuple(
        sorted(name for name, value in event.declared_capabilities.items() if value)
    )
    timestamp = event.timestamp if event.timestamp.tzinfo else event.timestamp.replace(tzinfo=UTC)
    return _request(
        node_id=event.node_id,
        node_name=event.node_name or f"node-{event.node_id}",
        node_type=_node_type(event.node_type),
        node_version=semver_text(event.node_version),
        capabilities=capabilities,
        endpoints=event.endpoints,
        health_endpoint=event.endpoints.get("health"),
        observed_at=timestamp,
        source_shape="published",
    )


def _request(**fields: object) -> ModelRegistrationRequest:
    """The normalised request; limits of our own (name, version lengths) are rejections too."""
    try:
        return ModelRegistrationRequest.model_validate(fields)
    except ValidationError as exc:
        # Not an escaping pydantic error: its text would echo the offending value.
        raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> IntrospectionValidationError:
    """A rejection naming the first bad field and why, never the value itself."""
    field, reason = first_validation_error(exc)
    # Some parsers quote a piece of the input (``found `s` at 0``): drop it.
    reason = _QUOTED_INPUT.sub("`...`", reason)
    return IntrospectionValidationError(f"invalid introspection: {field or 'payload'}: {reason}")


_QUOTED_INPUT = re.compile(r"`[^`]*`")


def now_utc() -> datetime:
    """The current time, timezone-aware (the one clock read of the registration handlers)."""
    return datetime.now(UTC)

"""The idempotency key of a message: its envelope id, or the business key its policy declares."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from uuid import UUID

from pydantic import BaseModel, JsonValue

from omnibase_infra.errors import EnvelopeValidationError
from omnibase_infra.resilience.effect.model_idempotency_policy import ModelIdempotencyPolicy

__all__ = ["idempotency_key"]


def _lookup(payload: JsonValue, path: str) -> JsonValue:
    value = payload
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise EnvelopeValidationError(f"payload has no business key field {path!r}", field=path)
        value = value[part]
    if value is None or isinstance(value, dict | list):
        raise EnvelopeValidationError(
            f"business key field {path!r} must be a scalar value", field=path
        )
    return value


def idempotency_key(
    policy: ModelIdempotencyPolicy,
    envelope_id: UUID,
    payload: Mapping[str, JsonValue] | BaseModel | None = None,
) -> str:
    """``env:<uuid>``, or ``bk:<sha256 of the business key values>`` when fields are declared.

    Raises ``EnvelopeValidationError`` (naming the field) when the payload lacks a declared
    business key field: such a message cannot be deduplicated, so it must not be executed.
    """
    if not policy.business_key_fields:
        return f"env:{envelope_id}"
    data: JsonValue
    if isinstance(payload, BaseModel):
        data = payload.model_dump(mode="json")
    elif payload is None:
        data = {}
    else:
        data = dict(payload)
    values = [_lookup(data, path) for path in policy.business_key_fields]
    canonical = json.dumps(values, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return "bk:" + hashlib.sha256(canonical.encode()).hexdigest()

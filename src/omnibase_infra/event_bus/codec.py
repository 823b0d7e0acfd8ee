"""Core's ``ModelEventEnvelope`` as the wire format: JSON bytes plus routing headers.

A consumed message is decoded exactly once, into an envelope whose payload is plain JSON; the
dispatch engine then validates the payload into the input model of the node it routes to.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING
from uuid import UUID

from pydantic import BaseModel, JsonValue, ValidationError

from omnibase_infra._core import MixinLazyValue, ModelEventEnvelope
from omnibase_infra.errors import EnvelopeValidationError
from omnibase_infra.event_bus.headers import (
    HEADER_CORRELATION_ID,
    HEADER_ENVELOPE_ID,
    HEADER_EVENT_TYPE,
    HEADER_PAYLOAD_TYPE,
)
from omnibase_infra.observability.tracing import inject_trace_context
from omnibase_infra.validation_errors import (
    describe_validation_error,
    error_reason,
    first_validation_error,
)

__all__ = [
    "JsonEnvelope",
    "decode_envelope",
    "describe_validation_error",
    "encode_envelope",
    "envelope_headers",
    "error_reason",
    "first_validation_error",
    "new_envelope",
    "new_json_envelope",
]


class JsonEnvelope(ModelEventEnvelope[JsonValue]):
    """Core's envelope with a JSON payload: the same fields and validators, one pass.

    Core's envelope defines its own ``__init__``, which makes pydantic validate every decoded
    message twice (JSON to Python, then the Python values again through ``__init__``). Using
    pydantic's own ``__init__`` validates once; the lazy-evaluation cache that core's
    ``__init__`` would have created is made on first use instead (a private attribute would
    cost every decoded message a default factory call).
    """

    if not TYPE_CHECKING:  # type checkers see core's attributes and signature unchanged
        __init__ = BaseModel.__init__

        @functools.cached_property
        def _lazy_cache(self) -> dict[str, MixinLazyValue[object]]:
            return {}


_FIELDS = ModelEventEnvelope.model_fields
# The two schema versions every new envelope carries, made once by core's own default
# factories: frozen models, so sharing them is safe, and building them per envelope (two
# validated models, six validator calls) was a fifth of an envelope's construction.
_ONEX_VERSION = _FIELDS["onex_version"].get_default(call_default_factory=True)
_ENVELOPE_VERSION = _FIELDS["envelope_version"].get_default(call_default_factory=True)


def new_envelope(
    payload: BaseModel,
    *,
    correlation_id: UUID | None,
    producer: str,
    parent_envelope_id: UUID | None = None,
    source_tool: str | None = None,
) -> ModelEventEnvelope[BaseModel]:
    """A new envelope for ``payload`` (its type name as ``payload_type``), validated by core."""
    return ModelEventEnvelope(
        payload=payload,
        payload_type=type(payload).__name__,
        correlation_id=correlation_id,
        parent_envelope_id=parent_envelope_id,
        source_tool=source_tool,
        producer=producer,
        onex_version=_ONEX_VERSION,
        envelope_version=_ENVELOPE_VERSION,
    )


def new_json_envelope(
    payload: JsonValue,
    *,
    payload_type: str,
    correlation_id: UUID | None,
    producer: str,
) -> JsonEnvelope:
    """A new envelope around a JSON payload that arrived without one (its type given apart)."""
    return JsonEnvelope(
        payload=payload,
        payload_type=payload_type,
        correlation_id=correlation_id,
        producer=producer,
        onex_version=_ONEX_VERSION,
        envelope_version=_ENVELOPE_VERSION,
    )


def encode_envelope(envelope: ModelEventEnvelope[BaseModel] | JsonEnvelope) -> bytes:
    """Serialise an envelope to its JSON wire bytes (absent optional fields are omitted)."""
    return envelope.model_dump_json(exclude_none=True).encode()


def envelope_headers(envelope: ModelEventEnvelope[BaseModel] | JsonEnvelope) -> dict[str, str]:
    """The routing headers of an envelope: ids and types, readable without decoding the value."""
    headers = {HEADER_ENVELOPE_ID: str(envelope.envelope_id)}
    if envelope.correlation_id is not None:
        headers[HEADER_CORRELATION_ID] = str(envelope.correlation_id)
    if envelope.payload_type is not None:
        headers[HEADER_PAYLOAD_TYPE] = envelope.payload_type
    if envelope.event_type is not None:
        headers[HEADER_EVENT_TYPE] = envelope.event_type
    inject_trace_context(headers)  # a no-op unless tracing is configured
    return headers


def decode_envelope(raw: bytes) -> JsonEnvelope:
    """Decode wire bytes into an envelope; raises ``EnvelopeValidationError`` saying why not."""
    try:
        envelope = JsonEnvelope.model_validate_json(raw)
    except ValidationError as exc:
        raise EnvelopeValidationError(
            f"not a valid event envelope: {describe_validation_error(exc)}"
        ) from None
    return envelope

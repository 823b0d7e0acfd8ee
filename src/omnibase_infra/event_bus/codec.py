"""Core's ``ModelEventEnvelope`` as the wire format: JSON bytes plus routing headers.

A consumed message is decoded exactly once, into an envelope whose payload is plain JSON; the
dispatch engine then validates the payload into the input model of the node it routes to.
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from pydantic import BaseModel, JsonValue, ValidationError
from pydantic_core import to_json

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
    "encode_new_envelope",
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


# What every new envelope says after its ids and before its producer, as core serialises it
# (``exclude_none``): no metadata, default priority, first attempt.
_METADATA = _FIELDS["metadata"].get_default(call_default_factory=True).model_dump(exclude_none=True)
_PRIORITY = _FIELDS["priority"].get_default()
_RETRY_COUNT = _FIELDS["retry_count"].get_default()
_ONEX_VERSION_JSON = _ONEX_VERSION.model_dump(exclude_none=True)
_ENVELOPE_VERSION_JSON = _ENVELOPE_VERSION.model_dump(exclude_none=True)


def encode_new_envelope(
    payload: BaseModel,
    *,
    correlation_id: UUID,
    producer: str,
    parent_envelope_id: UUID | None = None,
    source_tool: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The wire bytes and headers of a new envelope for ``payload``, made without the model.

    The same bytes and headers as ``encode_envelope`` and ``envelope_headers`` of
    ``new_envelope`` (tests pin it), for a message that is published at once: core's
    envelope would cost a validated model, a metadata model and two passes over the ids
    per message. Each id is formatted once, for the JSON and the headers alike.
    """
    if not producer.strip():  # core's own rule: a blank producer attributes nothing
        raise ValueError("producer must be a real node identity")
    envelope_id = _new_uuid4_text()
    correlation = str(correlation_id)
    payload_type = type(payload).__name__
    fields: dict[str, object] = {
        "envelope_id": envelope_id,
        "envelope_timestamp": datetime.now(UTC),
        "correlation_id": correlation,
    }
    if parent_envelope_id is not None:
        fields["parent_envelope_id"] = str(parent_envelope_id)
    if source_tool is not None:
        fields["source_tool"] = source_tool
    fields["metadata"] = _METADATA
    fields["payload_type"] = payload_type
    fields["priority"] = _PRIORITY
    fields["retry_count"] = _RETRY_COUNT
    fields["producer"] = producer
    fields["onex_version"] = _ONEX_VERSION_JSON
    fields["envelope_version"] = _ENVELOPE_VERSION_JSON
    # The payload first, as core's field order puts it; the rest is one JSON object spliced in.
    value = b"".join(
        (
            b'{"payload":',
            payload.model_dump_json(exclude_none=True).encode(),
            b",",
            to_json(fields)[1:],
        )
    )
    headers = {
        HEADER_ENVELOPE_ID: envelope_id,
        HEADER_CORRELATION_ID: correlation,
        HEADER_PAYLOAD_TYPE: payload_type,
    }
    inject_trace_context(headers)  # a no-op unless tracing is configured
    return value, headers


def _new_uuid4_text() -> str:
    """A random (version 4) UUID in its text form, as ``str(uuid4())`` makes it.

    Made from the random bytes directly: ``uuid4()`` builds a ``UUID`` (validated in Python)
    only for the envelope id to be formatted once and dropped.
    """
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


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

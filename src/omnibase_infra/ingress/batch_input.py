"""What a batch POST to the ingress carries, checked all at once: many envelopes or payloads.

The body is a JSON array, or NDJSON (``Content-Type: application/x-ndjson``: one JSON document
a line, blank lines skipped), of core's envelopes, or (with ``payload_type`` given) of bare
payloads the ingress wraps. Every item is checked before any is published: one bad item
refuses the batch with a 422 naming every item at fault (``body.<index>.<path>``, the index
counting items from 0) and never a value.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from pydantic import JsonValue, TypeAdapter, ValidationError

from omnibase_infra.event_bus.codec import JsonEnvelope, error_reason, new_json_envelope
from omnibase_infra.ingress.envelope_input import check_payload_type
from omnibase_infra.ingress.errors import IngressRequestError, field_error

__all__ = ["MAX_DETAIL", "batch_envelopes_of", "is_ndjson"]

# The most field errors a 422 lists (the message counts the rest).
MAX_DETAIL = 50
_NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
_PAYLOADS: TypeAdapter[list[JsonValue]] = TypeAdapter(list[JsonValue])
_ENVELOPES: TypeAdapter[list[JsonEnvelope]] = TypeAdapter(list[JsonEnvelope])
_PAYLOAD: TypeAdapter[JsonValue] = TypeAdapter(JsonValue)

_Errors = list[tuple[list[str | int], str]]


def is_ndjson(content_type: str | None) -> bool:
    """Whether the body is NDJSON (one document a line) rather than one JSON array."""
    if content_type is None:
        return False
    return content_type.split(";", 1)[0].strip().lower() in _NDJSON_TYPES


def batch_envelopes_of(
    body: bytes,
    *,
    ndjson: bool,
    payload_type: str | None,
    correlation_id: UUID | None,
    producer: str,
    max_events: int,
) -> list[JsonEnvelope]:
    """The envelopes to publish, in order: each item's own, or a new one around each payload.

    An envelope without a correlation id gets the header's, else a new one of its own. Raises
    ``IngressRequestError``: 413 past ``max_events`` items, 422 naming every bad item.
    """
    if payload_type is not None:
        check_payload_type(payload_type)
    items: list[JsonValue] | list[JsonEnvelope]
    if ndjson:
        items = _ndjson_items(body, payload_type is not None, max_events)
    else:
        items = _array_items(body, payload_type is not None)
    if not items:
        raise _refused([(["body"], "no events: a batch holds at least one")])
    if len(items) > max_events:
        raise _too_many(max_events)
    if payload_type is not None:
        return [
            new_json_envelope(
                item,
                payload_type=payload_type,
                correlation_id=correlation_id or uuid4(),
                producer=producer,
            )
            for item in items
            if not isinstance(item, JsonEnvelope)
        ]
    return [
        _with_correlation(item, correlation_id) for item in items if isinstance(item, JsonEnvelope)
    ]


def _array_items(body: bytes, bare: bool) -> list[JsonValue] | list[JsonEnvelope]:
    try:
        return _PAYLOADS.validate_json(body) if bare else _ENVELOPES.validate_json(body)
    except ValidationError as exc:
        raise _refused(_errors_of(exc, ["body"])) from None


def _ndjson_items(body: bytes, bare: bool, max_events: int) -> list[JsonValue] | list[JsonEnvelope]:
    lines = [line for line in body.split(b"\n") if line.strip()]
    if len(lines) > max_events:  # refused before any line is parsed
        raise _too_many(max_events)
    errors: _Errors = []
    payloads: list[JsonValue] = []
    envelopes: list[JsonEnvelope] = []
    for index, line in enumerate(lines):
        try:
            if bare:
                payloads.append(_PAYLOAD.validate_json(line))
            else:
                envelopes.append(JsonEnvelope.model_validate_json(line))
        except ValidationError as exc:
            errors.extend(_errors_of(exc, ["body", index]))
    if errors:
        raise _refused(errors)
    return payloads if bare else envelopes


def _with_correlation(envelope: JsonEnvelope, correlation_id: UUID | None) -> JsonEnvelope:
    if envelope.correlation_id is not None:
        return envelope
    return envelope.model_copy(update={"correlation_id": correlation_id or uuid4()})


def _errors_of(exc: ValidationError, prefix: list[str | int]) -> _Errors:
    return [
        ([*prefix, *error["loc"]], error_reason(error))
        for error in exc.errors(include_input=False, include_url=False)
    ]


def _refused(errors: _Errors) -> IngressRequestError:
    """A 422 listing the first ``MAX_DETAIL`` field errors; the message names the first."""
    detail = [field_error(loc, msg) for loc, msg in errors[:MAX_DETAIL]]
    where = ".".join(str(part) for part in errors[0][0])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return IngressRequestError(
        422, f"{where}: {errors[0][1]}{more}; no event of the batch was published", detail=detail
    )


def _too_many(max_events: int) -> IngressRequestError:
    return IngressRequestError(
        413, f"the batch holds more events than ingress.max_batch_events ({max_events})"
    )

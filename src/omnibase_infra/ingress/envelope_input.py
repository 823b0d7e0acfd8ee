"""What a POST to the ingress carries, checked: the topic, the correlation id and the envelope.

The body is core's envelope as JSON, or (with ``payload_type`` given) a bare JSON payload the
ingress wraps in a new envelope. Every refusal names the field (``path.topic``,
``query.payload_type``, ``header.x-correlation-id``, ``body.<path>``) and never the value.
"""

from __future__ import annotations

import re
from uuid import UUID, uuid4

from pydantic import JsonValue, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from omnibase_infra.enums import EnumTopicKind
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.event_bus.codec import JsonEnvelope, error_reason, new_json_envelope
from omnibase_infra.event_bus.topics import parse_topic
from omnibase_infra.ingress.errors import IngressRequestError, field_error

__all__ = [
    "PUBLISHABLE_KINDS",
    "check_payload_type",
    "check_readable_topic",
    "check_topic",
    "correlation_id_of",
    "envelope_of",
]

# Commands and facts come from outside; intents are reducers' outputs, DLQ and retry topics the
# runtime's own.
PUBLISHABLE_KINDS = frozenset({EnumTopicKind.CMD, EnumTopicKind.EVT})
_RETRY_EVENT = re.compile(r".*-retry[0-9]+")
_PAYLOAD_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,199}")
_JSON: TypeAdapter[JsonValue] = TypeAdapter(JsonValue)


def _unprocessable(loc: list[str | int], msg: str) -> IngressRequestError:
    return IngressRequestError(
        422, f"{'.'.join(map(str, loc))}: {msg}", detail=[field_error(loc, msg)]
    )


def check_topic(topic: str) -> None:
    """Refuse (422, ``path.topic``) a name off the grammar, or of a kind nobody outside sends."""
    try:
        parsed = parse_topic(topic)
    except ProtocolConfigurationError as exc:
        raise _unprocessable(["path", "topic"], exc.message) from None
    if parsed.kind not in PUBLISHABLE_KINDS:
        raise _unprocessable(
            ["path", "topic"],
            f"topics of kind {parsed.kind.value!r} are not published through the ingress "
            "(cmd and evt only)",
        )
    if _RETRY_EVENT.fullmatch(parsed.event):
        raise _unprocessable(
            ["path", "topic"], "retry topics are the runtime's own: publish to the topic itself"
        )


def check_readable_topic(topic: str) -> None:
    """Refuse (422, ``path.topic``) a name off the grammar; any kind may be read."""
    try:
        parse_topic(topic)
    except ProtocolConfigurationError as exc:
        raise _unprocessable(["path", "topic"], exc.message) from None


def correlation_id_of(header: str | None) -> UUID | None:
    """The ``X-Correlation-ID`` header as a UUID (None when absent; 422 when not a UUID)."""
    if header is None:
        return None
    try:
        return UUID(header)
    except ValueError:
        raise _unprocessable(["header", "x-correlation-id"], "not a UUID") from None


def check_payload_type(payload_type: str) -> None:
    """Refuse (422, ``query.payload_type``) what is not a type name."""
    if _PAYLOAD_TYPE.fullmatch(payload_type) is None:
        raise _unprocessable(
            ["query", "payload_type"], "a type name (letters, digits, '_' and '.')"
        )


def envelope_of(
    body: bytes, *, payload_type: str | None, correlation_id: UUID | None, producer: str
) -> JsonEnvelope:
    """The envelope to publish: the body's own, or a new one around a bare payload.

    An envelope without a correlation id gets the header's, else a new one.
    """
    if payload_type is None:
        try:
            envelope = JsonEnvelope.model_validate_json(body)
        except ValidationError as exc:
            raise _invalid_body(exc, ["body"]) from None
        if envelope.correlation_id is None:
            envelope = envelope.model_copy(update={"correlation_id": correlation_id or uuid4()})
        return envelope
    check_payload_type(payload_type)
    try:
        payload = _JSON.validate_json(body)
    except ValidationError as exc:
        raise _invalid_body(exc, ["body"]) from None
    return new_json_envelope(
        payload,
        payload_type=payload_type,
        correlation_id=correlation_id or uuid4(),
        producer=producer,
    )


def _invalid_body(exc: ValidationError, prefix: list[str | int]) -> IngressRequestError:
    errors: list[ErrorDetails] = exc.errors(include_input=False, include_url=False)
    detail = [field_error([*prefix, *error["loc"]], error_reason(error)) for error in errors[:20]]
    first = detail[0]
    where = ".".join(str(part) for part in [*prefix, *errors[0]["loc"]])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return IngressRequestError(422, f"{where}: {first['msg']}{more}", detail=detail)

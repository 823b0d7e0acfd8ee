"""The OpenAPI description of ``POST /v1/events/{topic}``, ``.../batch`` (read from the raw
request, so declared here rather than inferred from a signature) and ``GET .../stream``."""

from __future__ import annotations

from typing import Final

from pydantic import JsonValue

__all__ = [
    "BATCH_REQUEST_BODY",
    "BATCH_RESPONSES",
    "EVENT_PARAMETERS",
    "EVENT_REQUEST_BODY",
    "EVENT_RESPONSES",
    "STREAM_RESPONSES",
]

_REFUSAL: Final[dict[str, JsonValue]] = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                },
            },
        },
    },
    "required": ["error"],
}


def _refusal(description: str) -> dict[str, JsonValue]:
    return {"description": description, "content": {"application/json": {"schema": _REFUSAL}}}


EVENT_PARAMETERS: Final[list[JsonValue]] = [
    {
        "name": "topic",
        "in": "path",
        "required": True,
        "description": "onex.<cmd|evt>.<producer>.<event>.v<N>",
        "schema": {
            "type": "string",
            "pattern": r"^onex\.(cmd|evt)\.[a-z0-9_-]+\.[a-z0-9_-]+\.v[1-9][0-9]{0,3}$",
        },
    },
    {
        "name": "payload_type",
        "in": "query",
        "required": False,
        "description": "the body is a bare payload of this type: the ingress wraps it in an "
        "envelope (absent: the body is core's event envelope)",
        "schema": {"type": "string"},
    },
    {
        "name": "X-Correlation-ID",
        "in": "header",
        "required": False,
        "description": "correlation id (UUID) of an envelope that has none (else one is made)",
        "schema": {"type": "string", "format": "uuid"},
    },
]

EVENT_REQUEST_BODY: Final[dict[str, JsonValue]] = {
    "required": True,
    "description": "core's ModelEventEnvelope as JSON, or a bare JSON payload with payload_type",
    "content": {"application/json": {"schema": {}}},
}

EVENT_RESPONSES: Final[dict[int | str, dict[str, JsonValue]]] = {
    401: _refusal("no valid bearer token (auth configured)"),
    403: _refusal("no role of the token may publish to the topic"),
    413: _refusal("body larger than ingress.max_body_bytes"),
    422: _refusal("wrong shape: topic, payload_type, X-Correlation-ID or body (field paths)"),
    429: _refusal("per-client rate limit: retry after the Retry-After header's seconds"),
    503: _refusal("the bus did not accept the event"),
}

BATCH_REQUEST_BODY: Final[dict[str, JsonValue]] = {
    "required": True,
    "description": "a JSON array, or NDJSON (Content-Type: application/x-ndjson, one document a "
    "line), of core's envelopes, or of bare payloads with payload_type; at most "
    "ingress.max_batch_events items and ingress.max_batch_bytes bytes. X-Correlation-ID is the "
    "correlation id of every item that has none",
    "content": {
        "application/json": {"schema": {"type": "array", "items": {}}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
}

BATCH_RESPONSES: Final[dict[int | str, dict[str, JsonValue]]] = {
    **EVENT_RESPONSES,
    413: _refusal(
        "body larger than ingress.max_batch_bytes, or more items than "
        "ingress.max_batch_events (or ingress.rate_burst)"
    ),
    422: _refusal(
        "wrong shape: topic, payload_type, X-Correlation-ID or any item (body.<index>.<path>, "
        "every bad item listed); nothing of the batch was published"
    ),
    429: _refusal("per-client rate limit (each event counts): nothing of the batch published"),
    503: _refusal("the bus did not accept every event (those before the failure may be on it)"),
}

STREAM_RESPONSES: Final[dict[int | str, dict[str, JsonValue]]] = {
    200: {
        "description": "text/event-stream: `event: subscribed` (`known`: false for a topic no "
        "node of the runtime subscribes or publishes to and that holds no event), then a "
        "`data:` frame per event "
        "(topic, partition, offset, timestamp, key, headers, value), `: keep-alive` comments "
        "while quiet; `event: dropped` when this client fell ingress.stream_queue_events behind, "
        "`event: end` when the runtime stops",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    401: _refusal("no valid bearer token (auth configured)"),
    403: _refusal("no role of the token may read the topic"),
    422: _refusal("the topic is not onex.<evt|cmd|intent|dlq>.<producer>.<event>.v<N>"),
    429: _refusal("per-client rate limit: retry after the Retry-After header's seconds"),
    503: _refusal("ingress.max_streams streams are open, or the runtime is stopping"),
}

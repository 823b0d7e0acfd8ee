"""``POST /v1/events/{topic}`` and ``.../batch`` straight on ASGI, in front of the FastAPI app.

The route is the ingress's hot path: answered here from the raw ASGI scope, it skips the
framework's per-request work (middleware layers, dependency solving, request objects), which
cost several times the publish itself. Every other request (``/docs``, ``/openapi.json``)
goes on to the app, whose routes of the same paths document these and answer the same way.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

from pydantic import JsonValue
from starlette.types import Receive, Scope, Send

from omnibase_infra.ingress.core import IngressCore
from omnibase_infra.ingress.errors import IngressRequestError
from omnibase_infra.sanitize import sanitize_text

__all__ = ["BATCH_SUFFIX", "EVENTS_PREFIX", "IngressFastPath", "is_event_post", "refusal_body"]

EVENTS_PREFIX = "/v1/events/"
BATCH_SUFFIX = "/batch"  # a topic has no '/': ``/v1/events/{topic}/batch`` is unambiguous
_JSON = (b"content-type", b"application/json")


def refusal_body(exc: IngressRequestError) -> dict[str, JsonValue]:
    """The JSON of a refusal: the sanitised message, and the fields at fault when known."""
    body: dict[str, JsonValue] = {"error": sanitize_text(exc.message)}
    if exc.detail:
        body["detail"] = list[JsonValue](exc.detail)
    return body


def is_event_post(scope: Scope) -> bool:
    """Whether the request is a POST under ``/v1/events/`` (what ``IngressFastPath`` answers)."""
    return (
        scope["type"] == "http"
        and scope["method"] == "POST"
        and str(scope.get("path", "")).startswith(EVENTS_PREFIX)
    )


class IngressFastPath:
    """Answers POSTs under ``/v1/events/`` with ``IngressCore`` on raw ASGI."""

    def __init__(self, core: IngressCore) -> None:
        self._core = core

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one event POST (``is_event_post(scope)``)."""
        path: str = scope["path"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client")
        topic = path[len(EVENTS_PREFIX) :]
        accept = self._core.accept
        if topic.endswith(BATCH_SUFFIX):
            topic, accept = topic[: -len(BATCH_SUFFIX)], self._core.accept_batch
        extra: dict[str, str] = {}
        try:
            content = await accept(
                topic,
                headers,
                _payload_type(scope["query_string"]),
                client[0] if client else None,
                _body(receive),
            )
            status = 202
        except IngressRequestError as exc:
            status, content, extra = exc.status, json.dumps(refusal_body(exc)).encode(), exc.headers
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    _JSON,
                    (b"content-length", str(len(content)).encode()),
                    *((k.lower().encode(), v.encode()) for k, v in extra.items()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})


@functools.lru_cache(maxsize=256)
def _payload_type(raw_query: bytes) -> str | None:
    """``payload_type`` of a query string (its first value), or None.

    Cached: a producer sends the same query on every request, and parsing it each time was a
    few percent of a one-event POST; a client varying it only churns this bounded cache.
    """
    values = parse_qs(raw_query.decode("latin-1")).get("payload_type") if raw_query else None
    return values[0] if values else None


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise IngressRequestError(400, "the client went away before its body arrived")
        chunk: bytes = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return

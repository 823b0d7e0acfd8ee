"""What ``onex-infra send`` does: events to a topic, through the ingress or straight to Kafka.

The data is one event (one JSON document) or several (NDJSON: one document a line). Several go
through the ingress's batch route (``POST /v1/events/{topic}/batch``) ``batch_size`` at a time.

Through the ingress (``POST /v1/events/{topic}``) the ingress checks, wraps and publishes; the
answer carries the envelope and correlation ids. Straight to Kafka, the same checks and the same
envelope are made here (``ingress.envelope_input``) and published with the runtime's Kafka
settings. The bearer token is a secret reference (``env://NAME``, ``file:///path``), resolved
here and never printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

import httpx
from pydantic import BaseModel, ConfigDict, JsonValue

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import InfraConnectionError, ModelInfraErrorContext
from omnibase_infra.ingress.errors import IngressRequestError
from omnibase_infra.ingress.model_ingress_accepted import ModelIngressAccepted
from omnibase_infra.ingress.model_ingress_batch_accepted import (
    ModelIngressBatchAccepted,
    ModelIngressEventIds,
)
from omnibase_infra.runtime.secrets import resolve_secret

if TYPE_CHECKING:
    from omnibase_infra.runtime.config import ModelRuntimeConfig

__all__ = [
    "ModelSendRequest",
    "read_data",
    "refusal_of",
    "send_batch_to_ingress",
    "send_batch_to_kafka",
    "send_to_ingress",
    "send_to_kafka",
    "split_events",
]

CLIENT_ID = "onex-infra-send"


class ModelSendRequest(BaseModel):
    """One event to send: where, what (a bare payload with its type, or an envelope)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    data: bytes
    payload_type: str | None = None
    correlation_id: UUID | None = None


def read_data(data: str) -> bytes:
    """``@path``: the file's bytes; ``-``: standard input's; anything else: the text itself."""
    if data == "-":
        import sys

        return sys.stdin.buffer.read()
    if data.startswith("@"):
        return Path(data[1:]).read_bytes()
    return data.encode()


def split_events(data: bytes) -> list[bytes]:
    """The events of ``data``: itself when it is one JSON document (or not JSON at all: the
    ingress says why), else each non-blank line when every line is one (NDJSON)."""
    try:
        json.loads(data)
    except ValueError:
        lines = [line for line in data.split(b"\n") if line.strip()]
        try:
            for line in lines:
                json.loads(line)
        except ValueError:
            return [data]
        return lines or [data]
    return [data]


async def _headers(request: ModelSendRequest, token: str | None) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    if request.correlation_id is not None:
        headers["x-correlation-id"] = str(request.correlation_id)
    if token is not None:
        resolved = await resolve_secret(token)
        headers["authorization"] = f"Bearer {resolved.get_secret_value()}"
    return headers


async def _post(
    client: httpx.AsyncClient,
    path: str,
    content: bytes,
    params: dict[str, str],
    headers: dict[str, str],
) -> httpx.Response:
    """One POST; an unreachable ingress is an ``InfraConnectionError`` naming the URL."""
    try:
        return await client.post(path, content=content, params=params, headers=headers)
    except httpx.HTTPError as exc:
        url = str(client.base_url)
        raise InfraConnectionError(
            f"cannot reach the ingress at {url}: {type(exc).__name__} (is `onex-infra run` "
            "serving, and ingress.port the one given?)",
            context=ModelInfraErrorContext(
                transport_type=EnumInfraTransportType.HTTP, operation="send", target_name=url
            ),
        ) from None


async def send_to_ingress(
    request: ModelSendRequest, url: str, *, token: str | None, timeout_seconds: float
) -> ModelIngressAccepted:
    """POST the event to the ingress at ``url``; ``IngressRequestError`` when refused."""
    headers = await _headers(request, token)
    params = {"payload_type": request.payload_type} if request.payload_type else {}
    async with httpx.AsyncClient(base_url=url, timeout=timeout_seconds, trust_env=False) as client:
        reply = await _post(client, f"/v1/events/{request.topic}", request.data, params, headers)
    if reply.status_code != 202:
        raise refusal_of(reply)
    return ModelIngressAccepted.model_validate_json(reply.content)


async def send_batch_to_ingress(
    request: ModelSendRequest,
    events: list[bytes],
    url: str,
    *,
    token: str | None,
    timeout_seconds: float,
    batch_size: int,
) -> ModelIngressBatchAccepted:
    """POST ``events`` (the request's data split) to the batch route, ``batch_size`` a request,
    in order; a refusal names the item by its index in ``events`` and says how many went in."""
    headers = {**await _headers(request, token), "content-type": "application/x-ndjson"}
    params = {"payload_type": request.payload_type} if request.payload_type else {}
    accepted: list[ModelIngressEventIds] = []
    async with httpx.AsyncClient(base_url=url, timeout=timeout_seconds, trust_env=False) as client:
        for start in range(0, len(events), batch_size):
            body = b"\n".join(events[start : start + batch_size])
            path = f"/v1/events/{request.topic}/batch"
            reply = await _post(client, path, body, params, headers)
            if reply.status_code != 202:
                raise _batch_refusal(refusal_of(reply), start)
            accepted.extend(ModelIngressBatchAccepted.model_validate_json(reply.content).events)
    return ModelIngressBatchAccepted(
        topic=request.topic, count=len(accepted), events=tuple(accepted)
    )


def _batch_refusal(exc: IngressRequestError, offset: int) -> IngressRequestError:
    """The refusal of the batch starting at ``offset``, its item indexes made the data's."""
    if not offset:
        return exc
    detail = [_shifted(entry, offset) for entry in exc.detail]
    message = exc.message
    if detail:
        more = f" (and {len(detail) - 1} more)" if len(detail) > 1 else ""
        message = f"{_where(detail[0])}{more}; nothing of this batch was published"
    message += f" (the first {offset} events were accepted)"
    return IngressRequestError(exc.status, message, detail=detail, headers=exc.headers)


def _shifted(entry: dict[str, JsonValue], offset: int) -> dict[str, JsonValue]:
    loc = entry.get("loc")
    if isinstance(loc, list) and len(loc) > 1 and isinstance(loc[1], int):
        return {**entry, "loc": [loc[0], loc[1] + offset, *loc[2:]]}
    return entry


def _where(entry: dict[str, JsonValue]) -> str:
    loc = entry.get("loc")
    where = ".".join(str(part) for part in loc) if isinstance(loc, list) else "body"
    return f"{where}: {entry.get('msg')}"


def refusal_of(reply: httpx.Response) -> IngressRequestError:
    """The ingress's refusal (its status, message, fields at fault, Retry-After) as an error."""
    try:
        body: JsonValue = reply.json()
    except ValueError:
        body = None
    message = body.get("error") if isinstance(body, dict) else None
    detail = body.get("detail") if isinstance(body, dict) else None
    headers = (
        {"Retry-After": reply.headers["retry-after"]} if "retry-after" in reply.headers else {}
    )
    return IngressRequestError(
        reply.status_code,
        str(message) if message is not None else f"HTTP {reply.status_code}",
        detail=[d for d in detail if isinstance(d, dict)] if isinstance(detail, list) else (),
        headers=headers,
    )


async def send_to_kafka(
    request: ModelSendRequest, config: ModelRuntimeConfig, bootstrap_servers: str
) -> ModelIngressAccepted:
    """Check and wrap the event as the ingress would, then publish it to Kafka directly."""
    # Imported here: the ingress path (the common one) needs neither the envelope model nor
    # the Kafka client, and `send` should answer in a fraction of a second.
    from omnibase_infra.cli.dlq.config import dlq_kafka_settings
    from omnibase_infra.event_bus.kafka.bus import EventBusKafka
    from omnibase_infra.ingress.envelope_input import check_topic, envelope_of

    check_topic(request.topic)
    envelope = envelope_of(
        request.data,
        payload_type=request.payload_type,
        correlation_id=request.correlation_id,
        producer=config.ingress.producer,
    )
    settings = await dlq_kafka_settings(config, bootstrap_servers)
    bus = EventBusKafka(settings.model_copy(update={"client_id": CLIENT_ID}))
    await bus.start()
    try:
        await bus.publish_envelope(envelope, request.topic)
    finally:
        await bus.close()
    assert envelope.correlation_id is not None  # envelope_of always sets one
    return ModelIngressAccepted(
        topic=request.topic,
        envelope_id=envelope.envelope_id,
        correlation_id=envelope.correlation_id,
    )


async def send_batch_to_kafka(
    request: ModelSendRequest,
    events: list[bytes],
    config: ModelRuntimeConfig,
    bootstrap_servers: str,
) -> ModelIngressBatchAccepted:
    """Check and wrap every event as the ingress's batch route would, then publish them all."""
    from omnibase_infra.cli.dlq.config import dlq_kafka_settings
    from omnibase_infra.event_bus.codec import encode_envelope, envelope_headers
    from omnibase_infra.event_bus.kafka.bus import EventBusKafka
    from omnibase_infra.ingress.batch_input import batch_envelopes_of
    from omnibase_infra.ingress.envelope_input import check_topic

    check_topic(request.topic)
    envelopes = batch_envelopes_of(
        b"\n".join(events),
        ndjson=True,
        payload_type=request.payload_type,
        correlation_id=request.correlation_id,
        producer=config.ingress.producer,
        max_events=len(events),
    )
    settings = await dlq_kafka_settings(config, bootstrap_servers)
    bus = EventBusKafka(settings.model_copy(update={"client_id": CLIENT_ID}))
    await bus.start()
    try:
        await bus.publish_batch(
            request.topic, [(None, encode_envelope(e), envelope_headers(e)) for e in envelopes]
        )
    finally:
        await bus.close()
    return ModelIngressBatchAccepted(
        topic=request.topic,
        count=len(envelopes),
        events=tuple(
            ModelIngressEventIds(envelope_id=e.envelope_id, correlation_id=e.correlation_id)
            for e in envelopes
            if e.correlation_id is not None  # batch_envelopes_of always sets one
        ),
    )

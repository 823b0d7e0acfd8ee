"""What ``onex-infra send`` does: one event to a topic, through the ingress or straight to Kafka.

Through the ingress (``POST /v1/events/{topic}``) the ingress checks, wraps and publishes; the
answer carries the envelope and correlation ids. Straight to Kafka, the same checks and the same
envelope are made here (``ingress.envelope_input``) and published with the runtime's Kafka
settings. The bearer token is a secret reference (``env://NAME``, ``file:///path``), resolved
here and never printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

import httpx
from pydantic import BaseModel, ConfigDict, JsonValue

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import InfraConnectionError, ModelInfraErrorContext
from omnibase_infra.ingress.errors import IngressRequestError
from omnibase_infra.ingress.model_ingress_accepted import ModelIngressAccepted
from omnibase_infra.runtime.secrets import resolve_secret

if TYPE_CHECKING:
    from omnibase_infra.runtime.config import ModelRuntimeConfig

__all__ = ["ModelSendRequest", "read_data", "send_to_ingress", "send_to_kafka"]

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


async def send_to_ingress(
    request: ModelSendRequest, url: str, *, token: str | None, timeout_seconds: float
) -> ModelIngressAccepted:
    """POST the event to the ingress at ``url``; ``IngressRequestError`` when refused."""
    headers = {"content-type": "application/json"}
    if request.correlation_id is not None:
        headers["x-correlation-id"] = str(request.correlation_id)
    if token is not None:
        resolved = await resolve_secret(token)
        headers["authorization"] = f"Bearer {resolved.get_secret_value()}"
    params = {"payload_type": request.payload_type} if request.payload_type else {}
    async with httpx.AsyncClient(base_url=url, timeout=timeout_seconds, trust_env=False) as client:
        try:
            reply = await client.post(
                f"/v1/events/{request.topic}",
                content=request.data,
                params=params,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise InfraConnectionError(
                f"cannot reach the ingress at {url}: {type(exc).__name__} (is `onex-infra run` "
                "serving, and ingress.port the one given?)",
                context=ModelInfraErrorContext(
                    transport_type=EnumInfraTransportType.HTTP,
                    operation="send",
                    target_name=url,
                ),
            ) from None
    if reply.status_code != 202:
        raise _refusal(reply)
    return ModelIngressAccepted.model_validate_json(reply.content)


def _refusal(reply: httpx.Response) -> IngressRequestError:
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

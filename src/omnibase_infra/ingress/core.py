"""One POST to the ingress, from its parts to the bus: the checks in order, then the publish.

In order: authenticated (when auth is configured: 401), rate limited per client (the token's
subject, else the remote address: 429 with ``Retry-After``), the topic checked (grammar and
kind: 422) and the token's roles (403), the body size-limited (413), parsed into an envelope
(422 with field paths), published; the answer is the 202 body with the envelope and
correlation ids. Every refusal is an ``IngressRequestError``; none echoes the token or the
body.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import AsyncIterator, Iterator, Mapping

from omnibase_infra.errors import InfraAuthenticationError, MessageTooLargeError, RuntimeHostError
from omnibase_infra.event_bus.base import EventBusBase
from omnibase_infra.event_bus.codec import encode_envelope, envelope_headers
from omnibase_infra.event_bus.headers import HEADER_CORRELATION_ID, HEADER_ENVELOPE_ID
from omnibase_infra.handlers.oidc.model_token_claims import ModelTokenClaims
from omnibase_infra.ingress.auth import IngressAuthenticator
from omnibase_infra.ingress.batch_input import batch_envelopes_of, is_ndjson
from omnibase_infra.ingress.envelope_input import (
    check_readable_topic,
    check_topic,
    correlation_id_of,
    envelope_of,
)
from omnibase_infra.ingress.errors import IngressRequestError
from omnibase_infra.ingress.model_ingress_settings import ModelIngressSettings
from omnibase_infra.ingress.rate_limit import TokenBucketLimiter
from omnibase_infra.ingress.routed_types import check_routed
from omnibase_infra.observability.logging import get_logger

__all__ = ["IngressCore"]

_log = get_logger(__name__)
_Record = tuple[bytes | None, bytes, Mapping[str, str] | None]


class IngressCore:
    """The checks and the publish of one POST (see module docstring for the order)."""

    def __init__(
        self,
        bus: EventBusBase,
        settings: ModelIngressSettings,
        authenticator: IngressAuthenticator | None,
        routed: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        # routed: the payload types this runtime's nodes take per topic, when the bus is its
        # own (in-memory); on a shared bus another runtime may take any type.
        self._routed = routed
        self._bus = bus
        self._settings = settings
        self._auth = authenticator
        self._limiter = TokenBucketLimiter(
            settings.rate_per_second, settings.rate_burst, max_clients=settings.max_clients
        )

    async def accept(
        self,
        topic: str,
        headers: Mapping[str, str],
        payload_type: str | None,
        client_host: str | None,
        body: AsyncIterator[bytes],
    ) -> bytes:
        """The 202 body for one POST (``headers`` by lower-case name); raises
        ``IngressRequestError`` for every refusal."""
        await self._admit(topic, headers, client_host)
        envelope = envelope_of(
            await self._read_body(
                headers.get("content-length"), body, self._settings.max_body_bytes, "max_body_bytes"
            ),
            payload_type=payload_type,
            correlation_id=correlation_id_of(headers.get("x-correlation-id")),
            producer=self._settings.producer,
        )
        if self._routed is not None:
            check_routed(
                self._routed, topic, envelope.payload_type, in_query=payload_type is not None
            )
        headers_out = envelope_headers(envelope)
        await self._publish(topic, encode_envelope(envelope), headers_out)
        # Built by hand (the hot path): the topic passed its grammar and the ids are UUIDs'
        # own text, so nothing here needs escaping; the ids' text is the headers' (made once).
        return (
            f'{{"topic":"{topic}","envelope_id":"{headers_out[HEADER_ENVELOPE_ID]}",'
            f'"correlation_id":"{headers_out[HEADER_CORRELATION_ID]}"}}'
        ).encode()

    async def accept_batch(
        self,
        topic: str,
        headers: Mapping[str, str],
        payload_type: str | None,
        client_host: str | None,
        body: AsyncIterator[bytes],
    ) -> bytes:
        """The 202 body for one batch POST: every item checked, then all published in order.

        The request takes one token of its client's bucket up front and the rest of its
        events' once they are counted, all or none (429, nothing published).
        """
        client = await self._admit(topic, headers, client_host)
        settings = self._settings
        envelopes = batch_envelopes_of(
            await self._read_body(
                headers.get("content-length"), body, settings.max_batch_bytes, "max_batch_bytes"
            ),
            ndjson=is_ndjson(headers.get("content-type")),
            payload_type=payload_type,
            correlation_id=correlation_id_of(headers.get("x-correlation-id")),
            producer=settings.producer,
            max_events=settings.max_batch_events,
        )
        if len(envelopes) > self._limiter.burst:
            raise IngressRequestError(
                413, f"the batch holds more events than ingress.rate_burst ({self._limiter.burst})"
            )
        if self._routed is not None:
            for envelope in envelopes:
                check_routed(
                    self._routed, topic, envelope.payload_type, in_query=payload_type is not None
                )
        self._take(client, len(envelopes) - 1)
        await self._publish_batch(
            topic, [(None, encode_envelope(e), envelope_headers(e)) for e in envelopes]
        )
        return json.dumps(
            {
                "topic": topic,
                "count": len(envelopes),
                "events": [
                    {"envelope_id": str(e.envelope_id), "correlation_id": str(e.correlation_id)}
                    for e in envelopes
                ],
            }
        ).encode()

    async def _admit(self, topic: str, headers: Mapping[str, str], client_host: str | None) -> str:
        """Authenticated, rate limited (one token), topic and roles checked: the client key."""
        claims = await self._authenticate(headers.get("authorization"))
        client = f"sub:{claims.subject}" if claims is not None else f"addr:{client_host}"
        self._take(client, 1)
        check_topic(topic)
        if self._auth is not None and claims is not None and not self._auth.allows(claims, topic):
            raise IngressRequestError(403, f"no role of this token may publish to {topic}")
        return client

    async def admit_stream(
        self, topic: str, headers: Mapping[str, str], client_host: str | None
    ) -> None:
        """Whether a client may read ``topic`` (``GET .../stream``): authenticated, rate limited
        (one token), a topic of the grammar (of any kind), and a role of the token allowing it."""
        claims = await self._authenticate(headers.get("authorization"))
        self._take(f"sub:{claims.subject}" if claims is not None else f"addr:{client_host}", 1)
        check_readable_topic(topic)
        if self._auth is not None and claims is not None and not self._auth.allows(claims, topic):
            raise IngressRequestError(403, f"no role of this token may read {topic}")

    def _take(self, client: str, cost: int) -> None:
        wait = self._limiter.take(client, cost) if cost > 0 else 0.0
        if wait > 0.0:
            raise IngressRequestError(
                429,
                "rate limit exceeded for this client",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

    async def _authenticate(self, authorization: str | None) -> ModelTokenClaims | None:
        if self._auth is None:
            return None
        try:
            return await self._auth.authenticate(authorization)
        except InfraAuthenticationError as exc:
            raise IngressRequestError(
                401, exc.message, headers={"WWW-Authenticate": 'Bearer realm="onex"'}
            ) from None
        except RuntimeHostError as exc:  # the provider unreachable: keys not readable
            raise IngressRequestError(
                503, f"cannot validate the bearer JWT now: {exc.message}"
            ) from None

    async def _read_body(
        self, declared: str | None, body: AsyncIterator[bytes], limit: int, setting: str
    ) -> bytes:
        """The body, refused with 413 past ``limit`` bytes, ``setting`` (declared or
        streamed)."""
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit, setting)
        chunks: list[bytes] = []
        size = 0
        async for chunk in body:
            size += len(chunk)
            if size > limit:
                raise _too_large(limit, setting)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _publish(self, topic: str, value: bytes, headers: dict[str, str]) -> None:
        with _bus_refusals(topic):
            await self._bus.publish(topic, None, value, headers)

    async def _publish_batch(self, topic: str, records: list[_Record]) -> None:
        """Publish in order (of a failing batch, the events before the failure may be on the
        bus: the 503 says so, and consumers see their envelope ids)."""
        with _bus_refusals(topic):
            await self._bus.publish_batch(topic, records)


@contextlib.contextmanager
def _bus_refusals(topic: str) -> Iterator[None]:
    """The bus's refusals as the ingress answers them: 413 too large, 503 otherwise."""
    try:
        yield
    except MessageTooLargeError as exc:
        raise IngressRequestError(413, exc.message) from None
    except RuntimeHostError as exc:
        _log.warning("ingress publish failed", topic=topic, error=exc.message)
        raise IngressRequestError(503, f"the bus did not accept the event: {exc.message}") from None


def _too_large(limit: int, setting: str) -> IngressRequestError:
    return IngressRequestError(413, f"the body is larger than ingress.{setting} ({limit})")

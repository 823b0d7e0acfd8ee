"""Writing to the transactional outbox: in the caller's transaction, next to the state change.

::

    async with handler.transaction() as tx:
        await tx.execute("UPDATE orders SET state = 'paid' WHERE id = $1", order_id)
        await enqueue_envelope(tx, envelope, topic)

Both rows commit together or not at all; a relay (``OutboxRelay``) publishes the message
afterwards. Pass the transaction's connection: outside a transaction the two statements would
commit separately and the guarantee is gone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from pydantic import BaseModel

from omnibase_infra._core import ModelEventEnvelope
from omnibase_infra.event_bus.codec import JsonEnvelope, encode_envelope, envelope_headers
from omnibase_infra.event_bus.topics import parse_topic
from omnibase_infra.handlers.postgres.connection import PostgresConnection

__all__ = ["enqueue", "enqueue_envelope"]

_INSERT = (
    "INSERT INTO onex_outbox (topic, key, value, headers) VALUES ($1, $2, $3, $4::jsonb) "
    "RETURNING id"
)


async def enqueue(
    conn: PostgresConnection,
    *,
    topic: str,
    value: bytes,
    key: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> int:
    """Insert one outgoing message; returns its outbox id. The topic name is validated."""
    parse_topic(topic)
    outbox_id = await conn.fetchval(
        _INSERT, topic, key, value, json.dumps(dict(headers or {}), separators=(",", ":"))
    )
    assert isinstance(outbox_id, int)
    return outbox_id


async def enqueue_envelope(
    conn: PostgresConnection,
    envelope: ModelEventEnvelope[BaseModel] | JsonEnvelope,
    topic: str,
    key: bytes | None = None,
) -> int:
    """Insert an envelope as the bus would publish it (JSON bytes plus routing headers)."""
    return await enqueue(
        conn,
        topic=topic,
        value=encode_envelope(envelope),
        key=key,
        headers=envelope_headers(envelope),
    )

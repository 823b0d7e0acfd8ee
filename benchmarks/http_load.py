"""A minimal HTTP/1.1 keep-alive load client for the ingress benchmark (not a general client).

Each connection sends one request and waits for its whole answer before the next (keep-alive,
no pipelining), like ``wrk``: the client's own cost per request is a few microseconds, so on
two cores the server, not the client, sets the pace. A general client (httpx: ~2 ms of client
CPU a request on this machine) left the server idle between requests, and what was then
measured was mostly waking up an idle process once per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast


class _Connection(asyncio.Protocol):
    """One keep-alive connection: ``request`` writes raw bytes and awaits the status code."""

    def __init__(self) -> None:
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not registered as asyncio.Transport: a cast, not a check
        self._transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self._buffer[:end].lower()
        at = head.find(b"content-length:")
        length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
        if len(self._buffer) < end + 4 + length:
            return
        status, body = int(self._buffer[9:12]), self._buffer[end + 4 : end + 4 + length]
        self._buffer = self._buffer[end + 4 + length :]
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("the server closed the connection"))

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one whole request; its (status, body)."""
        assert self._transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(raw)
        return await self._waiter

    def close(self) -> None:
        """Close the connection."""
        if self._transport is not None:
            self._transport.close()


def post_request(path: str, body: bytes, content_type: str = "application/json") -> bytes:
    """The raw bytes of one keep-alive POST of ``body`` to ``path``."""
    return (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: {content_type}\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body


async def post_all(port: int, requests: Sequence[bytes], connections: int) -> None:
    """Send every request over ``connections`` keep-alive connections to 127.0.0.1:``port``;
    ``SystemExit`` on the first answer that is not 202."""
    loop = asyncio.get_running_loop()
    opened = [
        (await loop.create_connection(_Connection, "127.0.0.1", port))[1]
        for _ in range(connections)
    ]

    async def worker(index: int) -> None:
        connection = opened[index]
        for raw in requests[index::connections]:
            status, body = await connection.request(raw)
            if status != 202:
                raise SystemExit(f"ingress answered {status}: {body.decode(errors='replace')}")

    try:
        await asyncio.gather(*(worker(i) for i in range(connections)))
    finally:
        for connection in opened:
            connection.close()

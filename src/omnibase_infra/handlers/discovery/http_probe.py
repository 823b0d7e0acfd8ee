"""One run of a Consul-style HTTP health check: GET the URL, map the status to check health."""

from __future__ import annotations

import httpx

from omnibase_infra.handlers.discovery import EnumCheckStatus
from omnibase_infra.handlers.httpx_support import new_async_client
from omnibase_infra.http_url import http_url_problem

__all__ = ["CHECK_OUTPUT_LIMIT", "HTTP_CHECK_DEFAULT_TIMEOUT", "HttpCheckProber"]

HTTP_CHECK_DEFAULT_TIMEOUT = 10.0  # Consul's default HTTP check timeout
CHECK_OUTPUT_LIMIT = 4096  # Consul keeps at most 4 KiB of a check's output
_DEFAULT_TIMEOUT_SECONDS = 5.0


class HttpCheckProber:
    """Runs HTTP checks as Consul does: 2xx passing, 429 warning, anything else critical."""

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None

    async def probe(self, url: str, limit_seconds: float) -> tuple[EnumCheckStatus, str]:
        """GET ``url`` once; the status and Consul-shaped output (head of the body).

        Never raises: a URL that cannot be sent or any failure of the exchange makes the check
        critical, saying why (a raised error would end the check's poller for good).
        """
        problem = http_url_problem(url)
        if problem is not None:
            return EnumCheckStatus.CRITICAL, f"HTTP GET: the check's URL {problem}"
        try:
            return await self._exchange(url, limit_seconds)
        except Exception as e:
            return EnumCheckStatus.CRITICAL, f"HTTP GET {url}: {type(e).__name__}"

    async def _exchange(self, url: str, limit_seconds: float) -> tuple[EnumCheckStatus, str]:
        if self._client is None:
            # Each request sets its own timeout (the check's); these are httpx's defaults.
            self._client = new_async_client(
                timeout_seconds=_DEFAULT_TIMEOUT_SECONDS,
                connect_timeout_seconds=_DEFAULT_TIMEOUT_SECONDS,
                headers={"User-Agent": "Consul Health Check", "Accept": "text/plain, */*"},
                follow_redirects=True,  # as Consul's own HTTP checks do
            )
        body = bytearray()
        try:
            async with self._client.stream("GET", url, timeout=limit_seconds) as response:
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) >= CHECK_OUTPUT_LIMIT:
                        break  # only the head is kept: never read an endless body
        except httpx.HTTPError as e:
            return EnumCheckStatus.CRITICAL, f"HTTP GET {url}: {type(e).__name__}: {e}"
        code = response.status_code
        text = body[:CHECK_OUTPUT_LIMIT].decode("utf-8", "replace")
        output = f"HTTP GET {url}: {code} {response.reason_phrase} Output: {text}"
        if 200 <= code < 300:
            return EnumCheckStatus.PASSING, output
        if code == 429:
            return EnumCheckStatus.WARNING, output
        return EnumCheckStatus.CRITICAL, output

    async def close(self) -> None:
        """Close the HTTP client (a later probe opens a new one)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

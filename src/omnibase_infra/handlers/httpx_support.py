"""What the httpx-based handlers share: error translation, safe targets, bounded bodies.

Shared by the handlers that speak HTTP (``http``, ``vault``, ``consul``, ``oidc``) so that each maps
the same failure to the same error:

=================================  =====================================================
failure                            error (retriable)
=================================  =====================================================
timeout (connect, read, pool...)   ``InfraTimeoutError`` (yes)
refused, reset, protocol error     ``InfraConnectionError`` (yes)
unsupported scheme, bad URL        ``ProtocolConfigurationError`` (no)
401, 403                           ``InfraAuthenticationError`` (no: refresh credentials)
408                                ``InfraTimeoutError`` (yes)
429, 503                           ``InfraUnavailableError`` with ``retry_after_seconds`` (yes)
other 5xx                          ``InfraUnavailableError`` (yes)
other 4xx                          ``RuntimeHostError`` with ``status_code`` (no)
=================================  =====================================================

Targets are reduced to scheme, host, port and path (:func:`safe_url`): no user info and no query
string, which is where credentials ride in URLs. Every handler builds its client with
:func:`new_async_client`, so all share one policy: no proxy or netrc from the environment, no
redirect followed behind the caller's back, the settings' CA bundle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx

from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraConnectionError,
    InfraTimeoutError,
    InfraUnavailableError,
    ModelInfraErrorContext,
    ProtocolConfigurationError,
    RuntimeHostError,
)

__all__ = [
    "DEFAULT_LIMITS",
    "error_for_status",
    "new_async_client",
    "parse_retry_after",
    "read_bounded",
    "safe_url",
    "translate_transport_error",
]


# httpx's own default pool, for handlers whose settings do not size it.
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


def new_async_client(
    *,
    timeout_seconds: float,
    connect_timeout_seconds: float,
    base_url: str = "",
    headers: Mapping[str, str] | None = None,
    tls_verify: bool = True,
    ca_cert_path: Path | None = None,
    limits: httpx.Limits = DEFAULT_LIMITS,
    follow_redirects: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The pooled client of an HTTP handler.

    ``trust_env`` is off: a handler talks to the target it was configured with, never through a
    proxy or with netrc credentials picked up from the environment. Redirects are not followed
    unless asked (the HTTP handler follows them itself, keeping credentials on their origin).
    ``ca_cert_path`` replaces the system CAs when ``tls_verify`` is on. ``transport`` is for tests.
    """
    verify: bool | str = tls_verify
    if tls_verify and ca_cert_path is not None:
        verify = str(ca_cert_path)
    return httpx.AsyncClient(
        base_url=base_url,
        headers=dict(headers) if headers is not None else None,
        timeout=httpx.Timeout(timeout_seconds, connect=connect_timeout_seconds),
        limits=limits,
        verify=verify,
        follow_redirects=follow_redirects,
        transport=transport,
        trust_env=False,
    )


def safe_url(url: httpx.URL | str) -> str:
    """``scheme://host:port/path`` of ``url``, without user info, query or fragment."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        port = f":{parsed.port}" if parsed.port is not None else ""
        path = parsed.path if parsed.path != "/" else ""
        return f"{parsed.scheme}://{parsed.host}{port}{path}"
    except (httpx.InvalidURL, ValueError):  # IDNA refuses some hosts only when decoding them
        return "<invalid url>"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date), else None.

    A date in the past gives 0; anything unparseable gives None (the caller's own backoff then
    applies).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


def translate_transport_error(
    error: httpx.HTTPError, context: ModelInfraErrorContext
) -> RuntimeHostError:
    """The error to raise (``from error``) for an httpx failure that produced no response."""
    kind = type(error).__name__
    if isinstance(error, httpx.TimeoutException):
        return InfraTimeoutError(f"request timed out ({kind})", context=context)
    if isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ProtocolConfigurationError(f"cannot send the request ({kind})", context=context)
    if isinstance(error, httpx.TooManyRedirects):
        return RuntimeHostError(
            "too many redirects", context=context, retriable=False, error_type=kind
        )
    if isinstance(error, httpx.DecodingError):
        return InfraConnectionError(
            "the response body could not be decoded", context=context, error_type=kind
        )
    # Connect, read, write, close, proxy and protocol errors: the peer or the network failed.
    return InfraConnectionError(f"connection failed ({kind})", context=context, error_type=kind)


def error_for_status(
    status_code: int,
    headers: httpx.Headers,
    context: ModelInfraErrorContext,
    *,
    detail: str | None = None,
) -> RuntimeHostError:
    """The error for an HTTP error status (>= 400); ``detail`` is sanitised by the error."""
    suffix = f": {detail}" if detail else ""
    message = f"HTTP {status_code}{suffix}"
    if status_code in (401, 403):
        return InfraAuthenticationError(message, context=context, status_code=status_code)
    if status_code == 408:
        return InfraTimeoutError(message, context=context, status_code=status_code)
    if status_code in (429, 503):
        return InfraUnavailableError(
            message,
            context=context,
            retry_after_seconds=parse_retry_after(headers.get("retry-after")),
            status_code=status_code,
        )
    if status_code >= 500:
        return InfraUnavailableError(message, context=context, status_code=status_code)
    return RuntimeHostError(message, context=context, retriable=False, status_code=status_code)


async def read_bounded(
    response: httpx.Response, limit: int, context: ModelInfraErrorContext
) -> bytes:
    """Read a streamed response's body, refusing (and closing) one larger than ``limit`` bytes.

    Bounds the memory a misbehaving or hostile server can make a handler allocate.
    """
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        await response.aclose()
        raise _too_large(limit, context)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit, context)
            chunks.append(chunk)
    except httpx.HTTPError as e:
        raise translate_transport_error(e, context) from e
    finally:
        await response.aclose()
    return b"".join(chunks)


def _too_large(limit: int, context: ModelInfraErrorContext) -> RuntimeHostError:
    """The error for a response body over the handler's limit (not retriable: it will recur)."""
    return RuntimeHostError(
        f"response body exceeds the limit of {limit} bytes", context=context, retriable=False
    )

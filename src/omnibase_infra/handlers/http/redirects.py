"""Following redirects without handing credentials to another origin.

httpx drops only ``Authorization`` when a redirect leaves the origin; an API key in
``x-api-key``, a cookie or any other credential header would go to whichever host the
``Location`` names. :func:`send_following_redirects` follows hop by hop itself and, on each hop
to another origin (scheme, host or port), drops every credential header: the handler's secret
headers, ``Authorization``, ``Proxy-Authorization``, ``Cookie`` and any header whose name says
it holds a secret. The one exception is httpx's: an upgrade of the same host from ``http`` to
``https`` on the default ports keeps them.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from omnibase_infra.errors import ModelInfraErrorContext, RuntimeHostError
from omnibase_infra.handlers.httpx_support import translate_transport_error
from omnibase_infra.http_url import http_url_problem
from omnibase_infra.sanitize import is_sensitive_name

__all__ = ["credential_headers", "send_following_redirects"]

_ALWAYS_CREDENTIALS = frozenset({"authorization", "proxy-authorization", "cookie"})


def credential_headers(headers: httpx.Headers, secret_names: Iterable[str]) -> list[str]:
    """The names in ``headers`` that carry credentials (lowercase)."""
    secret = {name.lower() for name in secret_names} | _ALWAYS_CREDENTIALS
    return [name for name in headers if name in secret or is_sensitive_name(name)]


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def _is_https_upgrade(source: httpx.URL, target: httpx.URL) -> bool:
    """``http://host`` to ``https://host`` on the default ports (httpx keeps auth there too)."""
    return (
        source.host == target.host
        and source.scheme == "http"
        and source.port in (80, None)
        and target.scheme == "https"
        and target.port in (443, None)
    )


async def send_following_redirects(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    follow: bool,
    secret_names: Iterable[str],
    context: ModelInfraErrorContext,
) -> httpx.Response:
    """Send ``request`` (streamed); with ``follow``, follow redirects hop by hop (see module).

    The client must not follow redirects itself. Raises the translated transport error, or a
    non-retriable ``RuntimeHostError`` for a redirect loop or a ``Location`` that is not a
    usable http(s) URL.
    """
    names = tuple(secret_names)
    origin = request.url
    hops = 0
    try:
        response = await client.send(request, stream=True, follow_redirects=False)
        while follow and response.next_request is not None:
            following = response.next_request
            await response.aclose()
            hops += 1
            if hops > client.max_redirects:
                raise RuntimeHostError(
                    "too many redirects", context=context, retriable=False, hops=hops
                )
            problem = http_url_problem(str(following.url))
            if problem is not None:
                raise RuntimeHostError(
                    f"redirected to a URL that {problem}", context=context, retriable=False
                )
            if not _same_origin(origin, following.url) and not _is_https_upgrade(
                origin, following.url
            ):
                for name in credential_headers(following.headers, names):
                    del following.headers[name]
            origin = following.url
            response = await client.send(following, stream=True, follow_redirects=False)
    except httpx.HTTPError as e:
        raise translate_transport_error(e, context) from e
    return response

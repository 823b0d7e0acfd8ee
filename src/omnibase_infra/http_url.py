"""Whether a text is an http(s) URL the HTTP handlers can use: checked once, at the boundary.

Hostile URLs (``http://127.0.0.1:-1/health``, ``http://[::1/x``, a NUL byte, ``http://xn--/``)
otherwise fail deep inside httpx or anyio with ``ValueError``, ``InvalidURL``, ``IDNAError`` or an
``ExceptionGroup`` that no caller classifies, and that retry logic reads as transient. Reasons
never repeat the URL: it may carry a token in its query string.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["check_http_url", "http_url_problem"]

_BAD_CHARACTER = re.compile(r"[\x00-\x20\x7f]")
_MAX_URL_LENGTH = 2048


def http_url_problem(url: str, *, allow_credentials: bool = True) -> str | None:
    """Why ``url`` is not a usable ``http://`` or ``https://`` URL, or None when it is."""
    if len(url) > _MAX_URL_LENGTH:
        return f"is longer than {_MAX_URL_LENGTH} characters"
    if _BAD_CHARACTER.search(url):
        return "contains whitespace or control characters"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "has no host"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return "has a port that is not a number in 1-65535"
    if not allow_credentials and (parts.username is not None or parts.password is not None):
        return "must not carry credentials"
    import httpx  # the parser the handlers send with (IDNA, IPv6 literals); loaded on first use

    try:
        _ = httpx.URL(url).host  # decoding the host runs IDNA, which may refuse it
    except (httpx.InvalidURL, ValueError):  # idna.IDNAError is a ValueError (UnicodeError)
        return "is not a valid URL (host or port)"
    return None


def check_http_url(url: str, *, allow_credentials: bool = True) -> str:
    """``url`` itself; raises ``ValueError`` with the reason (for pydantic validators)."""
    problem = http_url_problem(url, allow_credentials=allow_credentials)
    if problem is not None:
        raise ValueError(f"URL {problem}")
    return url

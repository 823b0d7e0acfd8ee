"""Which failures say something about a dependency's health (and so count for its breaker).

Read from what actually happened: an error made from an HTTP answer carries that answer's
status (``RuntimeHostError.status_code``), and that status decides, not the error class's
default. A 404 wrapped in a ``RuntimeHostError`` (whose class default is 500) is the caller's
problem, not the dependency's: counting it would let five calls for a missing resource open the
circuit for every caller.
"""

from __future__ import annotations

from omnibase_infra.errors import RuntimeHostError

__all__ = ["is_dependency_failure", "status_blames_dependency"]

# Client statuses that still say the dependency is overloaded or slow: it may recover.
_TRANSIENT_CLIENT_STATUSES = frozenset({408, 429})


def status_blames_dependency(status: int) -> bool:
    """True for 5xx, 408 (request timeout) and 429 (too many requests); False for other 4xx."""
    return status >= 500 or status in _TRANSIENT_CLIENT_STATUSES


def is_dependency_failure(error: BaseException) -> bool:
    """True for server-side failures (5xx, 408, 429, connection or timeout errors).

    A client error (bad input, a missing resource, rejected credentials) or a bug in our own
    code says nothing about whether the dependency is up, so it neither opens a circuit nor
    closes one.
    """
    if isinstance(error, RuntimeHostError):
        return status_blames_dependency(error.effective_status)
    return isinstance(error, ConnectionError | TimeoutError)

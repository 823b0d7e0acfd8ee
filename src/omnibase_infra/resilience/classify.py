"""Which failures say something about a dependency's health (and so count for its breaker)."""

from __future__ import annotations

from omnibase_infra.errors import RuntimeHostError

__all__ = ["is_dependency_failure"]


def is_dependency_failure(error: BaseException) -> bool:
    """True for server-side failures (status >= 500, connection or timeout errors).

    A client error (bad input, rejected credentials) or a bug in our own code says nothing
    about whether the dependency is up, so it neither opens a circuit nor closes one.
    """
    if isinstance(error, RuntimeHostError):
        return type(error).http_status >= 500
    return isinstance(error, ConnectionError | TimeoutError)

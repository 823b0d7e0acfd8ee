"""Which failures of an adapter's call are the request's (a failure event) and which are the
infrastructure's (raised: retried under the contract's policy, then dead-lettered).

A request failure is final and says something to the sender: a constraint the row violates, a
secret that does not exist, a parameter of the wrong type. Retrying it changes nothing, so the
adapter answers it with its failure event. Anything else (connection refused, timeout, rejected
credentials, an open breaker) is raised: the executor retries it and counts it for the breaker,
and the failure policy dead-letters the command once the retries are spent.
"""

from __future__ import annotations

from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraConnectionError,
    InfraTimeoutError,
    InfraUnavailableError,
    ProtocolConfigurationError,
    RuntimeHostError,
)
from omnibase_infra.sanitize import sanitize_text

__all__ = ["MAX_REASON_CHARS", "AdapterRequestError", "failure_reason", "is_request_failure"]

MAX_REASON_CHARS = 500

_INFRASTRUCTURE = (
    InfraAuthenticationError,
    InfraConnectionError,
    InfraTimeoutError,
    InfraUnavailableError,
    ProtocolConfigurationError,
)


class AdapterRequestError(RuntimeHostError):
    """A command an adapter's contract does not allow, or that cannot run as asked (an unknown
    operation, a parameter missing, a path outside the allowed prefixes)."""


def is_request_failure(error: BaseException) -> bool:
    """Whether ``error`` is final and caused by the request, not by the infrastructure."""
    return (
        isinstance(error, RuntimeHostError)
        and not error.retriable
        and not isinstance(error, _INFRASTRUCTURE)
    )


def failure_reason(error: BaseException) -> str:
    """The error's message for a failure event: sanitized and bounded."""
    message = error.message if isinstance(error, RuntimeHostError) else str(error)
    return sanitize_text(str(message))[:MAX_REASON_CHARS]

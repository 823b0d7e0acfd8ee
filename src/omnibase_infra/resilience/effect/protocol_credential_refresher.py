"""What the effect executor calls when a dependency rejects our credentials."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["ProtocolCredentialRefresher"]


@runtime_checkable
class ProtocolCredentialRefresher(Protocol):
    """Fetches fresh credentials (a new token, a re-read secret) for a handler's client."""

    async def refresh_credentials(self) -> None:
        """Replace the handler's credentials; raises a typed error if that is impossible."""
        ...

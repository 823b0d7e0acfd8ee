"""The Vault token a handler uses, and the bookkeeping of when it expires."""

from __future__ import annotations

import time

from pydantic import JsonValue, SecretStr

from omnibase_infra.sanitize import register_secret

__all__ = ["VaultTokenLease"]

# A renewal that adds less than this did not really extend the token (its max TTL capped it).
_MIN_EXTENSION_SECONDS = 0.5


class VaultTokenLease:
    """The token (a ``SecretStr``), its expiry (monotonic clock) and whether it is renewable."""

    def __init__(self, token: SecretStr | None) -> None:
        self.token = token
        self.renewable = False
        self._expires_at: float | None = None  # None: no known expiry (e.g. a root token)
        self._lease_seconds = 0.0  # the TTL granted at the last issue or renewal
        if token is not None:
            register_secret(token.get_secret_value())

    @property
    def ttl_seconds(self) -> float | None:
        """Seconds left, or None when the token does not expire (or nothing is known)."""
        if self._expires_at is None:
            return None
        return max(0.0, self._expires_at - time.monotonic())

    def adopt(self, token: str, ttl: JsonValue, renewable: JsonValue) -> None:
        """Use a freshly issued token (registered with the sanitiser first)."""
        register_secret(token)
        self.token = SecretStr(token)
        self.record(ttl, renewable)

    def record(self, ttl: JsonValue, renewable: JsonValue) -> None:
        """Record a TTL (from a login, lookup or renewal); 0 means the token never expires."""
        seconds = float(ttl) if isinstance(ttl, int | float) and not isinstance(ttl, bool) else 0.0
        self._expires_at = time.monotonic() + seconds if seconds > 0 else None
        self._lease_seconds = seconds
        self.renewable = renewable is True

    def renew_threshold(self, margin_seconds: float) -> float:
        """When to renew: ``margin_seconds`` before expiry, but never more than half the lease
        (a short-lived token would otherwise renew on every call)."""
        return min(margin_seconds, self._lease_seconds / 2)

    def needs_renewal(self, margin_seconds: float) -> bool:
        """Whether the token expires within its renewal threshold."""
        remaining = self.ttl_seconds
        return remaining is not None and remaining <= self.renew_threshold(margin_seconds)

    def extended_beyond(self, remaining_before: float) -> bool:
        """Whether the last renewal really extended the token past ``remaining_before``."""
        return self._lease_seconds > remaining_before + _MIN_EXTENSION_SECONDS

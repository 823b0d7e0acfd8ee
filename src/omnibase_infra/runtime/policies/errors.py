"""The policy registry's errors: configuration errors, so a bad policy stops the start."""

from __future__ import annotations

from omnibase_infra.errors import ProtocolConfigurationError

__all__ = ["PolicyConflictError", "PolicyRegistryError", "PolicyRegistryFrozenError"]


class PolicyRegistryError(ProtocolConfigurationError):
    """A policy cannot be registered or resolved; names the file, field and reason."""


class PolicyRegistryFrozenError(PolicyRegistryError):
    """A registration after the registry was frozen (the runtime's start): refused."""


class PolicyConflictError(PolicyRegistryError):
    """``name@version`` is registered already with a different content: refused."""

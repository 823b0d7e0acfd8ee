"""Infrastructure handlers: one folder per technology (``postgres``, ``vault``, ``consul``,
``discovery``, ``oidc``, ``http``, ``valkey``); this package keeps what they share:
``ProtocolInfraHandler`` (every handler) and ``httpx_support`` (those that speak HTTP)."""

from omnibase_infra.handlers.protocol_infra_handler import ProtocolInfraHandler

__all__ = ["ProtocolInfraHandler"]

"""Infrastructure handlers, one module per technology, named by the capability they serve."""

from omnibase_infra.handlers.protocol_infra_handler import ProtocolInfraHandler

__all__ = ["ProtocolInfraHandler"]

"""What every infrastructure handler is: a started client that can be pinged and closed.

A handler wraps one technology's client and exposes the operations of the capability it serves
(``registration.storage``, ``registration.discovery``, ``secrets``...). It translates driver
errors into this package's error tree at its boundary, and never publishes to the bus. Timeouts,
retries and circuit breaking are not its job: the effect executor wraps every call.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.models.model_health_check_result import ModelHealthCheckResult

__all__ = ["ProtocolInfraHandler"]


@runtime_checkable
class ProtocolInfraHandler(Protocol):
    """Lifecycle and health of a handler; its operations are declared by its own class."""

    @property
    def handler_name(self) -> str:
        """Stable name used in health reports, metrics and logs (e.g. ``postgres``)."""
        ...

    @property
    def transport_type(self) -> EnumInfraTransportType:
        """The transport its calls use (selects error codes)."""
        ...

    async def start(self) -> None:
        """Connect (create pools, clients); raises a translated error on failure."""
        ...

    async def ping(self) -> ModelHealthCheckResult:
        """One cheap real round trip; never raises, reports failure in the result."""
        ...

    async def close(self) -> None:
        """Release connections; safe to call twice."""
        ...

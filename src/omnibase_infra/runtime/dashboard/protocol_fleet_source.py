"""Where the dashboard reads the fleet from: a service a node plugin puts in the container."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from omnibase_infra.runtime.dashboard.model_fleet_summary import ModelFleetSummary

__all__ = ["ProtocolFleetSource"]


@runtime_checkable
class ProtocolFleetSource(Protocol):
    """Counts the fleet (the registration plugin's storage is one); the runtime knows no node."""

    async def fleet_summary(self) -> ModelFleetSummary:
        """The fleet now, aggregated where it is stored (one query, not every row)."""
        ...

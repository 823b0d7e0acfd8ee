"""Registration as the dashboard's fleet source: registration.storage, counted in SQL."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from omnibase_infra.nodes.node_registry_effect.storage import RegistrationStorage
from omnibase_infra.runtime.dashboard.model_fleet_summary import ModelFleetSummary

__all__ = ["RegistrationFleetSource"]

_REDUCER = "node_registration_reducer"  # whose FSM states the registrations are in


class RegistrationFleetSource:
    """``ProtocolFleetSource`` over ``RegistrationStorage`` (one GROUP BY per call)."""

    def __init__(self, storage: RegistrationStorage) -> None:
        self._storage = storage

    async def fleet_summary(self) -> ModelFleetSummary:
        """Registrations by state, the latest heartbeat and each backend's statuses."""
        by_state: dict[str, int] = defaultdict(int)
        storage: dict[str, int] = defaultdict(int)
        discovery: dict[str, int] = defaultdict(int)
        latest: datetime | None = None
        for state, stored, discovered, count, heartbeat in await self._storage.fleet_rows():
            by_state[state] += count
            storage[stored] += count
            discovery[discovered] += count
            if heartbeat is not None and (latest is None or heartbeat > latest):
                latest = heartbeat
        return ModelFleetSummary(
            reducer=_REDUCER,
            total=sum(by_state.values()),
            by_state=dict(by_state),
            last_heartbeat_at=latest,
            backends={"storage": dict(storage), "discovery": dict(discovery)},
        )

"""``GET /registry`` on the hub: current registrations from ``registration.storage``."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Query

from omnibase_infra.nodes.node_registry_effect.storage import RegistrationStorage
from omnibase_infra.nodes.registration.models.model_registry_entry import ModelRegistryEntry
from omnibase_infra.nodes.registration.models.model_registry_listing import (
    ModelRegistryListing,
)

__all__ = ["create_registry_router", "list_registry"]


async def list_registry(
    storage: RegistrationStorage, *, state: str | None = None, limit: int = 10_000
) -> ModelRegistryListing:
    """Current registrations (optionally in one state), by node name."""
    records = await storage.list_all(limit=limit)
    entries = tuple(
        ModelRegistryEntry(
            node_id=r.node_id,
            node_name=r.node_name,
            node_type=r.node_type,
            node_version=r.node_version,
            state=r.state.value,
            acked=r.acked,
            registered_at=r.registered_at,
            last_heartbeat_at=r.last_heartbeat_at,
            storage_status=r.storage_status.value,
            discovery_status=r.discovery_status.value,
        )
        for r in records
        if state is None or r.state.value == state
    )
    counts = Counter(r.state.value for r in records)
    return ModelRegistryListing(count=len(entries), by_state=dict(counts), nodes=entries)


def create_registry_router(storage: RegistrationStorage) -> APIRouter:
    """The router the registration component mounts on the hub."""
    router = APIRouter()

    @router.get("/registry", response_model=ModelRegistryListing)
    async def registry(
        state: str | None = Query(default=None, pattern=r"^[a-z]{1,20}$"),
        limit: int = Query(default=10_000, ge=1, le=100_000),
    ) -> ModelRegistryListing:
        """Every current registration: node, state, last heartbeat, each backend's status."""
        return await list_registry(storage, state=state, limit=limit)

    return router

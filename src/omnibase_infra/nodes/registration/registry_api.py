"""``GET /registry`` on the hub: current registrations from ``registration.storage``, in pages.

A page holds at most ``MAX_PAGE`` registrations, ordered by (node name, node id); its ``next``
is an opaque cursor for the page after it (``?after=``), null on the last page. Pages are
keyset ranges (an index range scan each, migration 0101), so the size of the table bounds
neither the memory of a request nor the time the event loop spends building its reply: 50k
registrations with ``limit=100000`` once took 515 MB and held ``/health`` for 13.5 s.
"""

from __future__ import annotations

import base64
import binascii
import json
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query

from omnibase_infra.nodes.node_registry_effect.storage import RegistrationStorage
from omnibase_infra.nodes.registration.models.model_registry_entry import ModelRegistryEntry
from omnibase_infra.nodes.registration.models.model_registry_listing import (
    ModelRegistryListing,
)

__all__ = [
    "DEFAULT_PAGE",
    "MAX_PAGE",
    "create_registry_router",
    "decode_cursor",
    "encode_cursor",
    "list_registry",
]

MAX_PAGE = 1000
DEFAULT_PAGE = 500
_MAX_CURSOR_CHARS = 512


def encode_cursor(node_name: str, node_id: UUID) -> str:
    """The opaque ``after`` of the page that follows the row (``node_name``, ``node_id``)."""
    raw = json.dumps([node_name, str(node_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, UUID] | None:
    """The row a cursor points after, or None when it is not a cursor of ours."""
    if len(cursor) > _MAX_CURSOR_CHARS:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value: object = json.loads(raw)
        if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
            return value[0], UUID(str(value[1]))
    except (binascii.Error, ValueError):  # bad base64, JSON (UnicodeDecodeError too) or UUID
        pass
    return None


async def list_registry(
    storage: RegistrationStorage,
    *,
    state: str | None = None,
    limit: int = DEFAULT_PAGE,
    after: tuple[str, UUID] | None = None,
) -> ModelRegistryListing:
    """One page of current registrations (optionally in one state), by node name."""
    page = min(limit, MAX_PAGE)
    records = await storage.list_page(limit=page, after=after, state=state)
    by_state = await storage.count_by_state()
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
    )
    total = by_state.get(state, 0) if state is not None else sum(by_state.values())
    last = records[-1] if len(records) == page else None
    return ModelRegistryListing(
        count=len(entries),
        total=total,
        by_state=by_state,
        nodes=entries,
        next=encode_cursor(last.node_name, last.node_id) if last is not None else None,
    )


def create_registry_router(storage: RegistrationStorage) -> APIRouter:
    """The router the registration component mounts on the hub."""
    router = APIRouter()

    @router.get("/registry", response_model=ModelRegistryListing)
    async def registry(
        state: str | None = Query(default=None, pattern=r"^[a-z]{1,20}$"),
        limit: int = Query(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE),
        after: str | None = Query(default=None, max_length=_MAX_CURSOR_CHARS),
    ) -> ModelRegistryListing:
        """A page of current registrations: node, state, last heartbeat, each backend's
        status; ``next`` is the ``after`` of the following page (null: the last one)."""
        cursor = None
        if after is not None:
            cursor = decode_cursor(after)
            if cursor is None:
                raise HTTPException(422, "after: not the 'next' of a previous page")
        return await list_registry(storage, state=state, limit=limit, after=cursor)

    return router

"""The key/value half of the local catalog: Consul's KV with create/modify indexes and CAS."""

from __future__ import annotations

from collections.abc import Callable

from omnibase_infra.handlers.discovery import ModelKvEntry

__all__ = ["DiscoveryLocalKv"]


class DiscoveryLocalKv:
    """Entries by key; every write takes the next index of the catalog it belongs to."""

    def __init__(self, *, bump: Callable[[], int], notify: Callable[[], None]) -> None:
        # bump: the catalog's one raft-like index; notify: wakes the catalog's blocked reads.
        self._bump = bump
        self._notify = notify
        self._entries: dict[str, ModelKvEntry] = {}
        self._index = 1

    def index(self, key: str | None = None) -> int:
        """``key``'s modify index, or the store's latest change when absent or not given."""
        entry = self._entries.get(key) if key is not None else None
        return entry.modify_index if entry is not None else self._index

    def get(self, key: str) -> ModelKvEntry | None:
        """The entry at ``key``, or None."""
        return self._entries.get(key)

    def list(self, prefix: str) -> list[ModelKvEntry]:
        """Entries whose key starts with ``prefix``, ordered by key."""
        return [self._entries[key] for key in sorted(self._entries) if key.startswith(prefix)]

    def put(self, key: str, value: bytes, *, flags: int = 0, cas: int | None = None) -> bool:
        """Write ``key``; with ``cas`` only if its modify index matches (0: only if absent)."""
        existing = self._entries.get(key)
        if cas is not None:
            current = existing.modify_index if existing is not None else 0
            if current != cas:
                return False
        index = self._bump()
        self._entries[key] = ModelKvEntry(
            key=key,
            value=value,
            flags=flags,
            create_index=existing.create_index if existing is not None else index,
            modify_index=index,
        )
        self._index = index
        self._notify()
        return True

    def delete(self, key: str, *, cas: int | None = None) -> bool:
        """Delete ``key`` (absent: True); with ``cas`` only if its modify index matches."""
        existing = self._entries.get(key)
        if existing is None:
            return True
        if cas is not None and existing.modify_index != cas:
            return False
        del self._entries[key]
        self._index = self._bump()
        self._notify()
        return True

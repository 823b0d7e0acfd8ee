"""An in-process service catalog with Consul's semantics: the engine of local discovery.

``HandlerDiscoveryLocal`` (the local profile's ``registration.discovery``) and the fake Consul
agent in ``omnibase_infra.testing`` both sit on it. What it keeps, as a single Consul agent does:

- services and their checks; a check starts critical unless registered with a status;
  re-registering keeps the status of checks whose id survives;
- TTL checks: a status update restarts the TTL, expiry sets critical ("TTL expired");
- HTTP checks: polled every interval (2xx passing, 429 warning, anything else critical);
- DeregisterCriticalServiceAfter: a service whose check stays critical that long is removed;
- one raft-like index bumped by every change, a per-service and a catalog index, and KV
  ``CreateIndex``/``ModifyIndex``; reads block until their index moves or the wait elapses;
- KV with check-and-set.

Time-driven changes (TTL expiry, reaping) are applied lazily, before every read and write and
when a blocked read's next deadline arrives, from an injectable clock, so tests can move time.
Not thread-safe: use it from one event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable

from omnibase_infra.handlers.discovery import (
    EnumCheckStatus,
    ModelDiscoveryCheck,
    ModelServiceRegistration,
)
from omnibase_infra.handlers.discovery.http_probe import (
    CHECK_OUTPUT_LIMIT,
    HTTP_CHECK_DEFAULT_TIMEOUT,
    HttpCheckProber,
)
from omnibase_infra.handlers.discovery.local_kv import DiscoveryLocalKv
from omnibase_infra.handlers.discovery.local_records import (
    CatalogCheckView,
    CatalogServiceView,
    CheckRecord,
    DeadlineHeap,
    EnumTimerKind,
    EnumTtlUpdate,
    ServiceRecord,
    service_view,
)

__all__ = [
    "CatalogCheckView",
    "CatalogServiceView",
    "Clock",
    "DiscoveryLocalCatalog",
    "EnumTtlUpdate",
]

Clock = Callable[[], float]

_TTL_EXPIRED = "TTL expired"
_MIN_BLOCK_SLICE = 0.001


class DiscoveryLocalCatalog:
    """Services, checks and KV of one simulated agent (see the module docstring)."""

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        node_name: str = "local",
        node_address: str = "127.0.0.1",
    ) -> None:
        self.clock = clock
        self.node_name = node_name
        self.node_address = node_address
        self._index = 1
        self._catalog_index = 1
        self._service_index: dict[str, int] = {}
        self._instances: dict[str, int] = {}  # service name -> how many instances carry it
        self._services: dict[str, ServiceRecord] = {}
        self._checks: dict[str, CheckRecord] = {}
        self._timers = DeadlineHeap()
        # One counter for every armed timer, so no entry of a replaced check can match a new one.
        self._generations = itertools.count(1)
        self._changed = asyncio.Event()
        self.kv = DiscoveryLocalKv(bump=self._bump, notify=self._notify)
        self._closed = False
        self._prober = HttpCheckProber()

    # ---- lifecycle -----------------------------------------------------------------------

    async def close(self) -> None:
        """Stop HTTP check polling and release blocked reads (they return what they have)."""
        self._closed = True
        pollers = [check.poller for check in self._checks.values() if check.poller is not None]
        for poller in pollers:
            poller.cancel()
        for poller in pollers:
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        self._notify()
        await self._prober.close()

    # ---- indexes and blocking ------------------------------------------------------------

    @property
    def index(self) -> int:
        """The index of the latest change of anything."""
        return self._index

    @property
    def catalog_index(self) -> int:
        """The index of the latest service registration or removal."""
        return self._catalog_index

    def service_index(self, service_name: str) -> int:
        """The index of the latest change to ``service_name``'s instances or their checks."""
        return self._service_index.get(service_name, self._catalog_index)

    async def block(self, index_of: Callable[[], int], min_index: int, wait_seconds: float) -> None:
        """Return once ``index_of()`` exceeds ``min_index``, or after ``wait_seconds``."""
        if min_index <= 0:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while not self._closed:
            self.refresh()
            if index_of() > min_index:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            changed = self._changed
            # Wake for the next TTL expiry or reap too: nobody else would apply it.
            timeout = max(min(remaining, self._next_deadline_in()), _MIN_BLOCK_SLICE)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout)

    def refresh(self) -> None:
        """Apply every TTL expiry and critical-service reap that is due on the clock."""
        now = self.clock()
        changed = False
        heap = self._timers.heap
        while heap and heap[0][0] <= now:
            _, _, kind, check_id, generation = heapq.heappop(heap)
            check = self._checks.get(check_id)
            if check is None:
                continue
            if kind is EnumTimerKind.TTL and generation == check.ttl_generation:
                changed |= self._set_status(check, EnumCheckStatus.CRITICAL, _TTL_EXPIRED, now)
            elif kind is EnumTimerKind.REAP and generation == check.reap_generation:
                changed |= self._remove_service(check.service_id)
        if changed:
            self._notify()

    def _next_deadline_in(self) -> float:
        heap = self._timers.heap
        return heap[0][0] - self.clock() if heap else float("inf")

    def _bump(self) -> int:
        self._index += 1
        return self._index

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # ---- services and checks -------------------------------------------------------------

    def register(
        self, registration: ModelServiceRegistration, *, replace_existing_checks: bool = True
    ) -> None:
        """Add or replace an instance; surviving check ids keep their status."""
        self.refresh()
        now = self.clock()
        existing = self._services.get(registration.service_id)
        if existing is not None and existing.registration == registration:
            # Same definition: nothing changes in the catalog, but TTLs restart as on a real
            # agent, which recreates its check runners.
            for check_id in existing.check_ids:
                self._arm_ttl(self._checks[check_id], now)
            return
        index = self._bump()
        new_ids = registration.check_ids
        kept_ids: tuple[str, ...] = ()
        if existing is not None:
            for check_id in existing.check_ids:
                if check_id not in new_ids and replace_existing_checks:
                    self._drop_check(check_id)
            kept_ids = tuple(
                cid for cid in existing.check_ids if cid not in new_ids and cid in self._checks
            )
            self._service_index[existing.registration.name] = index
        for position, (check_id, spec) in enumerate(
            zip(new_ids, registration.checks, strict=True), start=1
        ):
            self._put_check(registration, position, check_id, spec, index, now)
        self._services[registration.service_id] = ServiceRecord(
            registration=registration,
            create_index=existing.create_index if existing is not None else index,
            modify_index=index,
            check_ids=new_ids + kept_ids,
        )
        if existing is None or existing.registration.name != registration.name:
            if existing is not None:
                self._forget_instance(existing.registration.name)
            self._instances[registration.name] = self._instances.get(registration.name, 0) + 1
        self._service_index[registration.name] = index
        self._catalog_index = index
        self._notify()

    def deregister(self, service_id: str) -> bool:
        """Remove an instance and its checks; False when unknown."""
        self.refresh()
        removed = self._remove_service(service_id)
        if removed:
            self._notify()
        return removed

    def update_ttl(self, check_id: str, status: EnumCheckStatus, output: str) -> EnumTtlUpdate:
        """Set a TTL check's status and output, restarting its TTL."""
        self.refresh()
        check = self._checks.get(check_id)
        if check is None:
            return EnumTtlUpdate.UNKNOWN
        if not check.spec.is_ttl:
            return EnumTtlUpdate.NOT_TTL
        now = self.clock()
        if self._set_status(check, status, output[:CHECK_OUTPUT_LIMIT], now):
            self._notify()
        self._arm_ttl(check, now)
        return EnumTtlUpdate.UPDATED

    def services(self, service_name: str, *, tag: str | None = None) -> list[CatalogServiceView]:
        """Instances of ``service_name`` (optionally carrying ``tag``), ordered by id."""
        self.refresh()
        found = [
            service_view(service, self._checks)
            for service in self._services.values()
            if service.registration.name == service_name
            and (tag is None or tag in service.registration.tags)
        ]
        found.sort(key=lambda view: view.registration.service_id)
        return found

    def service_tags(self) -> dict[str, tuple[str, ...]]:
        """Every service name with the sorted union of its instances' tags."""
        self.refresh()
        tags: dict[str, set[str]] = {}
        for service in self._services.values():
            tags.setdefault(service.registration.name, set()).update(service.registration.tags)
        return {name: tuple(sorted(values)) for name, values in sorted(tags.items())}

    def _put_check(
        self,
        registration: ModelServiceRegistration,
        position: int,
        check_id: str,
        spec: ModelDiscoveryCheck,
        index: int,
        now: float,
    ) -> None:
        previous = self._checks.get(check_id)
        if previous is not None and previous.poller is not None:
            previous.poller.cancel()
        if previous is not None and previous.service_id != registration.service_id:
            # Check ids are agent-wide: the check moves to this service and starts afresh.
            owner = self._services.get(previous.service_id)
            if owner is not None:
                owner.check_ids = tuple(cid for cid in owner.check_ids if cid != check_id)
                self._service_index[owner.registration.name] = index
            previous = None
        status = spec.initial_status or EnumCheckStatus.CRITICAL
        check = CheckRecord(
            check_id=check_id,
            name=registration.check_name(position),
            service_id=registration.service_id,
            spec=spec,
            # A surviving check keeps its state, as a real agent restores it on re-registration.
            status=previous.status if previous is not None else status,
            output=previous.output if previous is not None else "",
            create_index=previous.create_index if previous is not None else index,
            modify_index=index,
        )
        self._checks[check_id] = check
        self._arm_ttl(check, now)
        if previous is not None and previous.status is EnumCheckStatus.CRITICAL:
            check.reap_generation = previous.reap_generation  # still critical since then
        elif check.status is EnumCheckStatus.CRITICAL:
            self._arm_reap(check, now)
        if spec.http_url is not None:
            check.poller = asyncio.get_running_loop().create_task(
                self._poll(check), name=f"discovery-http-check:{check_id}"
            )

    def _arm_ttl(self, check: CheckRecord, now: float) -> None:
        if check.spec.ttl_seconds is None:
            return
        check.ttl_generation = next(self._generations)
        self._timers.push(
            now + check.spec.ttl_seconds, EnumTimerKind.TTL, check.check_id, check.ttl_generation
        )
        self._timers.compact(self._timer_is_live, 4 * len(self._checks) + 64)

    def _timer_is_live(self, kind: EnumTimerKind, check_id: str, generation: int) -> bool:
        """Whether a timer entry can still fire (its check exists, its generation is current)."""
        check = self._checks.get(check_id)
        if check is None:
            return False
        current = check.ttl_generation if kind is EnumTimerKind.TTL else check.reap_generation
        return generation == current

    def _arm_reap(self, check: CheckRecord, now: float) -> None:
        check.reap_generation = next(self._generations)
        after = check.spec.deregister_critical_after_seconds
        if after is not None:
            self._timers.push(
                now + after, EnumTimerKind.REAP, check.check_id, check.reap_generation
            )
            self._timers.compact(self._timer_is_live, 4 * len(self._checks) + 64)

    def _set_status(
        self, check: CheckRecord, status: EnumCheckStatus, output: str, now: float
    ) -> bool:
        """Change a check's state; True (and every index moved) when something changed."""
        if check.status is status and check.output == output:
            return False
        entering_critical = (
            status is EnumCheckStatus.CRITICAL and check.status is not EnumCheckStatus.CRITICAL
        )
        leaving_critical = status is not EnumCheckStatus.CRITICAL
        check.status = status
        check.output = output
        index = self._bump()
        check.modify_index = index
        service = self._services.get(check.service_id)
        if service is not None:
            self._service_index[service.registration.name] = index
        if entering_critical:
            self._arm_reap(check, now)
        elif leaving_critical:
            check.reap_generation = next(self._generations)
        return True

    def _drop_check(self, check_id: str) -> None:
        check = self._checks.pop(check_id, None)
        if check is not None and check.poller is not None:
            check.poller.cancel()

    def _remove_service(self, service_id: str) -> bool:
        service = self._services.pop(service_id, None)
        if service is None:
            return False
        for check_id in service.check_ids:
            self._drop_check(check_id)
        index = self._bump()
        self._service_index[service.registration.name] = index
        self._catalog_index = index
        self._forget_instance(service.registration.name)
        return True

    def _forget_instance(self, name: str) -> None:
        """One instance fewer carries ``name``; with the last, its index goes too (its reads
        then follow the catalog index, which is already at least as high)."""
        left = self._instances.get(name, 1) - 1
        if left > 0:
            self._instances[name] = left
            return
        self._instances.pop(name, None)
        self._service_index.pop(name, None)

    async def _poll(self, check: CheckRecord) -> None:
        """Run an HTTP check now and every interval until the check is removed."""
        url = check.spec.http_url
        interval = check.spec.interval_seconds
        if url is None or interval is None:  # ModelDiscoveryCheck guarantees both
            return
        limit = check.spec.timeout_seconds or HTTP_CHECK_DEFAULT_TIMEOUT
        while self._checks.get(check.check_id) is check:
            status, output = await self._prober.probe(url, limit)
            if self._checks.get(check.check_id) is not check:
                return
            self.refresh()
            if self._set_status(check, status, output[:CHECK_OUTPUT_LIMIT], self.clock()):
                self._notify()
            await asyncio.sleep(interval)

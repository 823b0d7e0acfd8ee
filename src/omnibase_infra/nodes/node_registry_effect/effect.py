"""The registry effect: one registration intent applied to both capabilities in parallel.

``registration.storage`` and ``registration.discovery`` each run under their own executor
(timeout, retry, circuit breaker from the contract's ``error_handling``), so a failure of one
is retried without touching the other (targeted retry) and opens only its own breaker. Writes
are idempotent (version-guarded upserts, service id = node id), so a retry never duplicates a
write. When one backend registered and the other's retries are exhausted, the one that
succeeded is undone (compensation) and the result says which failed and that it compensated.
A registration needs both backends: while either one's circuit is open, neither is called
(nothing to make, nothing to undo), and the result says the open one is unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Coroutine
from uuid import UUID

from omnibase_infra.errors import RuntimeHostError, is_dependency_unavailable
from omnibase_infra.nodes.node_registry_effect.discovery import RegistrationDiscovery
from omnibase_infra.nodes.node_registry_effect.storage import (
    RegistrationConflictError,
    RegistrationStorage,
)
from omnibase_infra.nodes.registration.models.enum_backend_status import EnumBackendStatus
from omnibase_infra.nodes.registration.models.enum_registration_intent_kind import (
    EnumRegistrationIntentKind,
)
from omnibase_infra.nodes.registration.models.model_backend_outcome import ModelBackendOutcome
from omnibase_infra.nodes.registration.models.model_registration_intent import (
    ModelRegistrationIntent,
)
from omnibase_infra.nodes.registration.models.model_registry_result import ModelRegistryResult
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.resilience.effect.executor import EffectExecutor
from omnibase_infra.sanitize import sanitize_text

__all__ = ["CAPABILITY_DISCOVERY", "CAPABILITY_STORAGE", "RegistryEffect"]

CAPABILITY_STORAGE = "registration.storage"
CAPABILITY_DISCOVERY = "registration.discovery"

_log = get_logger(__name__)


class RegistryEffect:
    """Applies registration intents to storage and discovery (see module docstring)."""

    def __init__(
        self,
        storage: RegistrationStorage,
        discovery: RegistrationDiscovery,
        *,
        storage_executor: EffectExecutor,
        discovery_executor: EffectExecutor,
    ) -> None:
        self._storage = storage
        self._discovery = discovery
        self._storage_executor = storage_executor
        self._discovery_executor = discovery_executor

    @property
    def storage(self) -> RegistrationStorage:
        """The storage capability (for reads: loads, liveness scans, listings)."""
        return self._storage

    async def apply(
        self, intent: ModelRegistrationIntent, correlation_id: UUID | None
    ) -> ModelRegistryResult:
        """Apply ``intent`` to both backends; raises only ``RegistrationConflictError``."""
        if intent.kind is EnumRegistrationIntentKind.REGISTER:
            refused = self._refused()
            if refused is not None:
                return refused
        discovery, storage = await _in_parallel(
            _attempt(
                CAPABILITY_DISCOVERY,
                self._discovery_executor,
                lambda: self._discovery.apply(intent),
            ),
            _attempt(
                CAPABILITY_STORAGE,
                self._storage_executor,
                lambda: self._storage.apply(intent, correlation_id),
            ),
        )
        if isinstance(storage, RegistrationConflictError):
            raise storage
        assert isinstance(storage, ModelBackendOutcome)
        assert isinstance(discovery, ModelBackendOutcome)
        if intent.kind is EnumRegistrationIntentKind.DEREGISTER:
            storage, discovery = _removed(storage), _removed(discovery)
        elif intent.kind is EnumRegistrationIntentKind.REGISTER:
            return await self._settle_registration(intent, correlation_id, storage, discovery)
        return ModelRegistryResult(storage=storage, discovery=discovery, compensated=False)

    def _refused(self) -> ModelRegistryResult | None:
        """The result of a registration not attempted because a backend's circuit is open."""
        executors = (
            (CAPABILITY_STORAGE, self._storage_executor),
            (CAPABILITY_DISCOVERY, self._discovery_executor),
        )
        waits = [
            0.0 if executor.breaker is None else executor.breaker.refusing_for
            for _, executor in executors
        ]
        if not any(wait > 0 for wait in waits):
            return None  # the usual case, asked for every registration: no outcome to build
        outcomes: dict[str, ModelBackendOutcome] = {}
        for (capability, _), wait in zip(executors, waits, strict=True):
            status = EnumBackendStatus.FAILED if wait > 0 else EnumBackendStatus.UNKNOWN
            outcomes[capability] = ModelBackendOutcome(
                capability=capability,
                status=status,
                attempts=0,
                error_type="InfraUnavailableError" if wait > 0 else None,
                error=f"circuit open for another {wait:.1f} s" if wait > 0 else None,
                unavailable=wait > 0,
            )
        return ModelRegistryResult(
            storage=outcomes[CAPABILITY_STORAGE], discovery=outcomes[CAPABILITY_DISCOVERY]
        )

    async def _settle_registration(
        self,
        intent: ModelRegistrationIntent,
        correlation_id: UUID | None,
        storage: ModelBackendOutcome,
        discovery: ModelBackendOutcome,
    ) -> ModelRegistryResult:
        """Compensate a half-made registration so no backend keeps what the other lacks."""
        ok = EnumBackendStatus.OK
        if (storage.status is ok) == (discovery.status is ok):
            return ModelRegistryResult(storage=storage, discovery=discovery, compensated=False)
        if storage.status is ok:
            undo = await _attempt(
                CAPABILITY_STORAGE,
                self._storage_executor,
                lambda: self._storage.remove(intent, correlation_id),
            )
            storage = _compensated(storage, undo)
        else:
            undo = await _attempt(
                CAPABILITY_DISCOVERY,
                self._discovery_executor,
                lambda: self._discovery.remove(intent),
            )
            discovery = _compensated(discovery, undo)
        result = ModelRegistryResult(storage=storage, discovery=discovery, compensated=True)
        # Retried when the other backend was only unavailable: the retry report speaks for
        # the outage, so one line per message would only flood the log.
        log = _log.debug if result.unavailable else _log.warning
        log(
            "registration half-made, compensated",
            node_id=str(intent.record.node_id),
            storage=storage.status.value,
            discovery=discovery.status.value,
        )
        return result


async def _in_parallel[A, B](
    first: Coroutine[None, None, A], second: Coroutine[None, None, B]
) -> tuple[A, B]:
    """Run both at once: ``first`` in a task, ``second`` in this one. Neither is left behind.

    This runs for every registration write, so it costs one task, not gather's two and its
    future; and that task starts eagerly: it runs at once until it first waits, so a ``first``
    that never waits (the local discovery backend) finishes without a trip through the loop.
    """
    task = asyncio.Task(first, loop=asyncio.get_running_loop(), eager_start=True)
    try:
        result = await second
    except BaseException:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise
    return await task, result


async def _attempt(
    capability: str, executor: EffectExecutor, operation: Callable[[], Awaitable[None]]
) -> ModelBackendOutcome | RegistrationConflictError:
    """Run one backend call under its executor; failures become an outcome, not an error.

    A version conflict is an answer, not a failure of the backend: it leaves the executor as a
    value, so it is neither retried, nor counted by the breaker, nor logged as a failed call
    (after a restart every node's re-introspection conflicts once, by design).
    """
    attempts = 0

    async def counted() -> RegistrationConflictError | None:
        nonlocal attempts
        attempts += 1
        try:
            await operation()
        except RegistrationConflictError as conflict:
            return conflict
        return None

    try:
        conflict = await executor.call(counted)
    except RuntimeHostError as exc:
        return ModelBackendOutcome(
            capability=capability,
            status=EnumBackendStatus.FAILED,
            attempts=attempts,
            error_type=type(exc).__name__,
            error=sanitize_text(exc.message)[:500],
            unavailable=is_dependency_unavailable(exc),
        )
    return conflict or _succeeded(capability, attempts)


@functools.cache
def _succeeded(capability: str, attempts: int) -> ModelBackendOutcome:
    """The outcome of a call that succeeded (frozen, so one per capability and attempt count)."""
    return ModelBackendOutcome(
        capability=capability, status=EnumBackendStatus.OK, attempts=attempts
    )


def _removed(outcome: ModelBackendOutcome) -> ModelBackendOutcome:
    if outcome.status is EnumBackendStatus.OK:
        return outcome.model_copy(update={"status": EnumBackendStatus.REMOVED})
    return outcome


def _compensated(
    outcome: ModelBackendOutcome, undo: ModelBackendOutcome | RegistrationConflictError
) -> ModelBackendOutcome:
    if isinstance(undo, ModelBackendOutcome) and undo.status is EnumBackendStatus.OK:
        return outcome.model_copy(update={"status": EnumBackendStatus.COMPENSATED})
    # The undo failed too: say so; the backend's own expiry (TTL check, liveness scan)
    # removes the leftover, and the history records the compensation attempt.
    return outcome.model_copy(
        update={"error": "compensation failed; left for expiry", "error_type": "Compensation"}
    )

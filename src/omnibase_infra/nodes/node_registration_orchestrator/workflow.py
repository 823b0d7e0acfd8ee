"""The registration workflow the orchestrator's contract declares: reduce, apply, feed back.

For one trigger about one node: take the node's lock (its messages are handled one at a time
in this process), read its registration (projection cache, storage on a miss), reduce, hand
the intent to the registry effect, reduce the effect's outcome (``registered`` or
``registration_failed``) when the intent was a registration, update the projection, and return
the announcements as events to publish. Storage writes are version-guarded: when another
writer got there first the registration is reloaded and the trigger reduced again.

A backend that is only unavailable (refused, timed out, circuit open) never rejects a node:
the half-made registration is compensated and the message fails with
``InfraUnavailableError``, so the failure policy retries it until the backend is back (or
dead-letters it once its outage budget is spent). ``registration_failed`` (rejected) is left
for failures that retrying cannot fix.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import NamedTuple
from uuid import UUID

from pydantic import BaseModel

from omnibase_infra.dispatch.model_outgoing_message import ModelOutgoingMessage
from omnibase_infra.errors import InfraUnavailableError, RuntimeHostError
from omnibase_infra.models.model_infra_error_context import ModelInfraErrorContext
from omnibase_infra.nodes.node_registration_reducer.reducer import (
    ModelReduction,
    RegistrationReducer,
)
from omnibase_infra.nodes.node_registry_effect.effect import RegistryEffect
from omnibase_infra.nodes.node_registry_effect.storage import RegistrationConflictError
from omnibase_infra.nodes.registration.models.enum_backend_status import EnumBackendStatus
from omnibase_infra.nodes.registration.models.enum_registration_intent_kind import (
    EnumRegistrationIntentKind,
)
from omnibase_infra.nodes.registration.models.enum_registration_trigger import (
    EnumRegistrationTrigger,
)
from omnibase_infra.nodes.registration.models.model_node_registration_accepted import (
    ModelNodeRegistrationAccepted,
)
from omnibase_infra.nodes.registration.models.model_node_registration_rejected import (
    ModelNodeRegistrationRejected,
)
from omnibase_infra.nodes.registration.models.model_node_state_changed import (
    ModelNodeStateChanged,
)
from omnibase_infra.nodes.registration.models.model_registration_record import (
    ModelRegistrationRecord,
)
from omnibase_infra.nodes.registration.models.model_registration_request import (
    ModelRegistrationRequest,
)
from omnibase_infra.nodes.registration.models.model_registration_settings import (
    ModelRegistrationSettings,
)
from omnibase_infra.nodes.registration.models.model_registry_result import ModelRegistryResult
from omnibase_infra.observability.logging import get_logger, level_enabled

__all__ = ["RegistrationWorkflow", "WorkflowOutcome"]

_log = get_logger(__name__)
_CONFLICT_RETRIES = 3
_STORED = frozenset({EnumBackendStatus.OK, EnumBackendStatus.REMOVED})


class RegistrationWorkflow:
    """Runs triggers through reducer and effect; returns the events to publish."""

    def __init__(
        self,
        reducer: RegistrationReducer,
        effect: RegistryEffect,
        settings: ModelRegistrationSettings,
        announce_topics: dict[str, str],
    ) -> None:
        self._reducer = reducer
        self._effect = effect
        self._settings = settings
        self._topics = announce_topics
        self._cache: OrderedDict[UUID, ModelRegistrationRecord] = OrderedDict()
        self._locks: dict[UUID, tuple[asyncio.Lock, int]] = {}

    @property
    def effect(self) -> RegistryEffect:
        """The registry effect (its storage answers queries)."""
        return self._effect

    def cached_node_ids(self) -> frozenset[UUID]:
        """The nodes the projection holds now (at most ``nodes.registration.cache_size``);
        any other node's registration is read from storage when a trigger needs it."""
        return frozenset(self._cache)

    async def run(
        self,
        node_id: UUID,
        trigger: EnumRegistrationTrigger,
        *,
        at: datetime,
        cause_id: UUID,
        correlation_id: UUID,
        request: ModelRegistrationRequest | None = None,
    ) -> WorkflowOutcome:
        """Handle one trigger about ``node_id``; raises when storage cannot take the change."""
        # A node missing from the projection that introspects is most likely new: reduce it
        # as unregistered without reading storage; a conflict on write says otherwise.
        optimistic = trigger is EnumRegistrationTrigger.INTROSPECTED
        key = str(node_id)  # the announcements' partition key, formatted once per trigger
        lock = self._lock_for(node_id)
        try:
            async with lock:
                for attempt in range(1, _CONFLICT_RETRIES + 1):
                    record = await self._current(node_id, load=not optimistic or attempt > 1)
                    step = _Step(node_id, at, cause_id, correlation_id, key)
                    try:
                        return await self._advance(step, record, trigger, request)
                    except RegistrationConflictError:
                        self._cache.pop(node_id, None)
                        if attempt == _CONFLICT_RETRIES:
                            raise
        finally:
            self._unlock(node_id)
        raise AssertionError("unreachable: the loop returns or raises")

    # A lock per node, dropped once nobody holds or waits for it. Two plain methods, not a
    # context manager: this runs for every trigger, and a generator-based one costs more.
    def _lock_for(self, node_id: UUID) -> asyncio.Lock:
        """The node's lock, counted as used until the matching ``_unlock``."""
        held = self._locks.get(node_id)
        lock, users = held if held is not None else (asyncio.Lock(), 0)
        self._locks[node_id] = (lock, users + 1)
        return lock

    def _unlock(self, node_id: UUID) -> None:
        """One user less of the node's lock; the last one drops it."""
        lock, users = self._locks[node_id]
        if users == 1:
            del self._locks[node_id]
        else:
            self._locks[node_id] = (lock, users - 1)

    async def _current(self, node_id: UUID, *, load: bool) -> ModelRegistrationRecord | None:
        cached = self._cache.get(node_id)
        if cached is not None or not load:
            return cached
        record = await self._effect.storage.load(node_id)
        self._remember(node_id, record)
        return record

    def _remember(self, node_id: UUID, record: ModelRegistrationRecord | None) -> None:
        """Keep live registrations in the projection (bounded, least recently used out)."""
        if record is None or not record.state.is_live:
            self._cache.pop(node_id, None)
            return
        self._cache[node_id] = record
        self._cache.move_to_end(node_id)
        if len(self._cache) > self._settings.cache_size:
            self._cache.popitem(last=False)

    async def _advance(
        self,
        step: _Step,
        record: ModelRegistrationRecord | None,
        trigger: EnumRegistrationTrigger,
        request: ModelRegistrationRequest | None,
    ) -> WorkflowOutcome:
        reduction = self._reduce(step, record, trigger, request)
        if not reduction.step.success:
            return WorkflowOutcome((), False, reduction.step.old_state)
        intent = reduction.intent
        if intent is None or intent.kind is not EnumRegistrationIntentKind.REGISTER:
            events = await self._apply(step, reduction)
            _log_transition(step, trigger, reduction)
            return WorkflowOutcome(events, True, reduction.step.new_state)
        result = await self._effect.apply(intent, step.correlation_id)
        if not result.succeeded and result.unavailable:
            # Already compensated: nothing of it is left to remember, and nothing to announce.
            self._remember(step.node_id, None)
            raise _not_done(reduction, step, result)
        assert reduction.record is not None  # a registration always has its record
        registered = reduction.record.model_copy(
            update={
                "storage_status": result.storage.status,
                "discovery_status": result.discovery.status,
            }
        )
        follow = (
            EnumRegistrationTrigger.REGISTERED
            if result.succeeded
            else EnumRegistrationTrigger.REGISTRATION_FAILED
        )
        self._remember(step.node_id, registered if result.succeeded else None)
        _log_transition(step, trigger, reduction)
        outcome = self._reduce(step, registered, follow, None)
        if not result.succeeded:
            events = tuple(self._announce(step, outcome, registered, _reason(result)))
        else:
            events = await self._apply(step, outcome)
        _log_transition(step, follow, outcome)
        return WorkflowOutcome(events, True, outcome.step.new_state)

    def _reduce(
        self,
        step: _Step,
        record: ModelRegistrationRecord | None,
        trigger: EnumRegistrationTrigger,
        request: ModelRegistrationRequest | None,
    ) -> ModelReduction:
        return self._reducer.reduce(
            record, trigger, at=step.at, cause_id=step.cause_id, request=request
        )

    async def _apply(
        self, step: _Step, reduction: ModelReduction
    ) -> tuple[ModelOutgoingMessage, ...]:
        """Apply a reduction's (non-registration) intent, then announce what it announced."""
        if not reduction.step.success:
            return ()
        record = reduction.record
        if reduction.intent is not None:
            result = await self._effect.apply(reduction.intent, step.correlation_id)
            if result.storage.status not in _STORED:
                # Not recorded: fail the message, so it is retried or dead-lettered.
                raise _not_done(reduction, step, result)
            if record is not None and record.discovery_status is not result.discovery.status:
                record = record.model_copy(update={"discovery_status": result.discovery.status})
        self._remember(step.node_id, record)
        return tuple(self._announce(step, reduction, record))

    def _announce(
        self,
        step: _Step,
        reduction: ModelReduction,
        record: ModelRegistrationRecord | None,
        reason: str | None = None,
    ) -> list[ModelOutgoingMessage]:
        """The events a reduction announced, on the topics the contract maps them to."""
        events: list[ModelOutgoingMessage] = []
        key = step.key
        for name in reduction.announcements:
            payload = self._payload(name, step, reduction, record, reason)
            events.append(ModelOutgoingMessage(topic=self._topics[name], payload=payload, key=key))
        return events

    def _payload(
        self,
        name: str,
        step: _Step,
        reduction: ModelReduction,
        record: ModelRegistrationRecord | None,
        reason: str | None,
    ) -> BaseModel:
        if name == "accepted":
            return ModelNodeRegistrationAccepted(
                entity_id=step.node_id,
                node_id=step.node_id,
                correlation_id=step.correlation_id,
                causation_id=step.cause_id,
                emitted_at=step.at,
                ack_deadline=step.at + timedelta(seconds=self._settings.ack_timeout_seconds),
            )
        if name == "rejected":
            return ModelNodeRegistrationRejected(
                entity_id=step.node_id,
                node_id=step.node_id,
                correlation_id=step.correlation_id,
                causation_id=step.cause_id,
                emitted_at=step.at,
                rejection_reason=reason or "registration failed",
            )
        return ModelNodeStateChanged(
            entity_id=step.node_id,
            node_id=step.node_id,
            node_name=record.node_name if record is not None else "",
            from_state=reduction.step.old_state,
            to_state=reduction.step.new_state,
            trigger=reduction.step.transition_name or "",
            emitted_at=step.at,
        )


class WorkflowOutcome(NamedTuple):
    """The events to publish; whether the trigger applied; the state it left the node in."""

    events: tuple[ModelOutgoingMessage, ...]
    applied: bool
    state: str


class _Step(NamedTuple):
    """What every reduction of one trigger shares."""

    node_id: UUID
    at: datetime
    cause_id: UUID
    correlation_id: UUID
    key: str  # str(node_id)


def _log_transition(
    step: _Step, trigger: EnumRegistrationTrigger, reduction: ModelReduction
) -> None:
    """One INFO line for a state change once it is recorded (never for a failed attempt, whose
    retry logs it; never for a trigger that leaves the state as it was, like a heartbeat)."""
    old_state, new_state = reduction.step.old_state, reduction.step.new_state
    if not reduction.step.success or old_state == new_state or not level_enabled(logging.INFO):
        return
    _log.info(
        "registration state changed",
        node_id=step.key,
        from_state=old_state,
        to_state=new_state,
        trigger=trigger.value,
        correlation_id=str(step.correlation_id),
    )


def _not_done(
    reduction: ModelReduction, step: _Step, result: ModelRegistryResult
) -> RuntimeHostError:
    """The error failing a message whose transition the backends did not take (retriable).

    ``InfraUnavailableError`` when the backends were only unavailable: the failure policy
    then keeps retrying for its outage budget instead of a few attempts.
    """
    transition = reduction.step.transition_name or "transition"
    context = ModelInfraErrorContext(operation=transition, target_name="node_registry_effect")
    storage_only = reduction.intent is not None and (
        reduction.intent.kind is not EnumRegistrationIntentKind.REGISTER
    )
    outcome_unavailable = result.storage.unavailable if storage_only else result.unavailable
    reason = f"registration.storage: {result.storage.error}" if storage_only else _reason(result)
    message = f"{transition} of {step.node_id} not recorded, will be retried: {reason}"
    if outcome_unavailable:
        return InfraUnavailableError(message, context=context)
    return RuntimeHostError(message, context=context, retriable=True)


def _reason(result: ModelRegistryResult) -> str:
    failed = [o for o in (result.storage, result.discovery) if o.error]
    parts = [f"{o.capability} failed after {o.attempts} attempt(s): {o.error}" for o in failed]
    return "; ".join(parts) or "registration failed"

"""The orchestrator's message handler: one instance for every route of its contract.

It turns each message into a trigger for the workflow (introspected, heartbeat, shutdown,
acked, or the liveness triggers a runtime tick reveals), and returns the events to publish.
An invalid introspection is answered with a rejection event (nothing is silently dropped);
a heartbeat from a node the registry does not know is answered, at most once per interval,
with a request that it introspect again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from prometheus_client import Gauge
from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from omnibase_infra._core import ModelONEXContainer, ModelRequestIntrospectionEvent
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.dispatch.model_outgoing_message import ModelOutgoingMessage
from omnibase_infra.errors import EnvelopeValidationError, RuntimeHostError
from omnibase_infra.event_bus.codec import first_validation_error
from omnibase_infra.nodes.node_registration_orchestrator.wiring import (
    build_workflow,
    read_declaration,
)
from omnibase_infra.nodes.node_registration_orchestrator.workflow import (
    RegistrationWorkflow,
    WorkflowOutcome,
)
from omnibase_infra.nodes.registration.introspection import (
    IntrospectionValidationError,
    normalize_introspection,
    now_utc,
)
from omnibase_infra.nodes.registration.models.enum_registration_state import (
    EnumRegistrationState,
)
from omnibase_infra.nodes.registration.models.enum_registration_trigger import (
    EnumRegistrationTrigger,
)
from omnibase_infra.nodes.registration.models.model_node_registration_rejected import (
    ModelNodeRegistrationRejected,
)
from omnibase_infra.nodes.registration.models.model_registration_request import (
    ModelRegistrationRequest,
)
from omnibase_infra.nodes.registration.models.model_registration_settings import (
    ModelRegistrationSettings,
)
from omnibase_infra.nodes.registration.topics import (
    TOPIC_NODE_ACKED,
    TOPIC_NODE_HEARTBEAT,
    TOPIC_NODE_INTROSPECTION,
    TOPIC_NODE_SHUTDOWN,
)
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.observability.metrics import REGISTRY
from omnibase_infra.runtime.contracts.model_loaded_contracts import ModelLoadedContracts
from omnibase_infra.runtime.plugins.model_runtime_tick import TOPIC_RUNTIME_TICK, ModelRuntimeTick
from omnibase_infra.sanitize import sanitize_text

__all__ = ["HandlerRegistrationOrchestrator"]

_log = get_logger(__name__)

_TICK_CONCURRENCY = 16
_REGISTRY_ID = uuid4()  # this process, as the requester of re-introspections

_REGISTRATIONS = Gauge(
    "onex_registrations",
    "Registrations in the registry by lifecycle state, read from storage at every runtime "
    "tick (every orchestrator reports the same totals: aggregate with max, not sum).",
    ("state",),
    registry=REGISTRY,
)
_REGISTRATIONS_BY_STATE = {
    state: _REGISTRATIONS.labels(state.value) for state in EnumRegistrationState
}


_Route = Callable[[DispatchContext], Awaitable[list[ModelOutgoingMessage]]]


class _NodeRef(BaseModel):
    """The part of a heartbeat, shutdown or ack every shape shares."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    node_id: UUID


class HandlerRegistrationOrchestrator:
    """Routes registration messages through the workflow (see module docstring)."""

    def __init__(self, container: ModelONEXContainer) -> None:
        declaration = read_declaration(container.get_service(ModelLoadedContracts).contracts)
        self._settings = container.get_service(ModelRegistrationSettings)
        self.workflow: RegistrationWorkflow = build_workflow(declaration, container, self._settings)
        self._request_topic = declaration.request_introspection
        self._rejected_topic = declaration.announce["rejected"]
        self._requested: dict[UUID, float] = {}
        self._routes: dict[str, _Route] = {
            TOPIC_NODE_INTROSPECTION: self._introspected,
            TOPIC_NODE_HEARTBEAT: self._heartbeat,
            TOPIC_NODE_SHUTDOWN: self._shutdown,
            TOPIC_NODE_ACKED: self._acked,
            TOPIC_RUNTIME_TICK: self._tick,
        }

    async def handle(self, context: DispatchContext) -> ModelNodeOutput | None:
        """Handle one message of any of the orchestrator's topics."""
        events = await self._routes[context.message.topic](context)
        return ModelNodeOutput(events=tuple(events)) if events else None

    async def _introspected(self, context: DispatchContext) -> list[ModelOutgoingMessage]:
        payload = context.payload
        if isinstance(payload, BaseModel):
            payload = payload.model_dump(mode="json")
        try:
            request = normalize_introspection(payload)
        except IntrospectionValidationError as exc:
            return [self._rejection(context, exc.message)]
        trigger = EnumRegistrationTrigger.INTROSPECTED
        return list((await self._run(context, request.node_id, trigger, request)).events)

    async def _heartbeat(self, context: DispatchContext) -> list[ModelOutgoingMessage]:
        node_id = _node_id(context.payload)
        outcome = await self._run(context, node_id, EnumRegistrationTrigger.HEARTBEAT)
        if outcome.applied or outcome.state != EnumRegistrationState.UNREGISTERED.value:
            return list(outcome.events)
        return self._request_introspection(node_id)

    async def _shutdown(self, context: DispatchContext) -> list[ModelOutgoingMessage]:
        node_id = _node_id(context.payload)
        return list((await self._run(context, node_id, EnumRegistrationTrigger.SHUTDOWN)).events)

    async def _acked(self, context: DispatchContext) -> list[ModelOutgoingMessage]:
        node_id = _node_id(context.payload)
        return list((await self._run(context, node_id, EnumRegistrationTrigger.ACKED)).events)

    async def _tick(self, context: DispatchContext) -> list[ModelOutgoingMessage]:
        """Liveness: turn the registrations overdue at ``tick.now`` into their triggers."""
        try:
            tick = ModelRuntimeTick.model_validate(context.payload)
        except ValidationError as exc:
            field, reason = first_validation_error(exc)
            raise EnvelopeValidationError(f"invalid runtime tick: {field}: {reason}") from None
        settings = self._settings
        overdue = await self.workflow.effect.storage.overdue(
            heartbeat_before=tick.now - timedelta(seconds=settings.stale_after_seconds),
            ack_before=tick.now - timedelta(seconds=settings.ack_timeout_seconds),
            limit=settings.liveness_scan_limit,
        )
        expire_before = tick.now - timedelta(seconds=settings.expire_after_seconds)
        stale_before = tick.now - timedelta(seconds=settings.stale_after_seconds)
        gate = asyncio.Semaphore(_TICK_CONCURRENCY)

        async def one(node_id: UUID, trigger: EnumRegistrationTrigger) -> WorkflowOutcome:
            async with gate:
                return await self._run(context, node_id, trigger, at=tick.now)

        jobs = []
        for record in overdue:
            if record.state is EnumRegistrationState.STALE:
                if record.last_heartbeat_at < expire_before:
                    jobs.append(one(record.node_id, EnumRegistrationTrigger.LIVENESS_EXPIRED))
            elif record.last_heartbeat_at < stale_before:
                jobs.append(one(record.node_id, EnumRegistrationTrigger.LIVENESS_MISSED))
            elif record.state is EnumRegistrationState.ACCEPTED:
                jobs.append(one(record.node_id, EnumRegistrationTrigger.ACK_TIMEOUT))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        events: list[ModelOutgoingMessage] = []
        failed: list[BaseException] = []
        for result in results:
            if isinstance(result, BaseException):
                failed.append(result)
            else:
                events.extend(result.events)
        if failed:
            unexpected = [error for error in failed if not isinstance(error, RuntimeHostError)]
            if unexpected:
                raise unexpected[0]
            # Raising would drop the announcements of the transitions that were stored; the
            # ones that failed are still overdue, so the next tick tries them again.
            _log.warning(
                "liveness transitions failed; the next tick retries them",
                failed=len(failed),
                applied=len(results) - len(failed),
                error_type=type(failed[0]).__name__,
                error=sanitize_text(str(failed[0]))[:300],
            )
        await self._count_registrations()
        return events

    async def _count_registrations(self) -> None:
        """Set ``onex_registrations`` from storage (kept as it was when storage is down)."""
        try:
            counts = await self.workflow.effect.storage.count_by_state()
        except RuntimeHostError as exc:
            _log.debug("registration counts not refreshed", error_type=type(exc).__name__)
            return
        for state, gauge in _REGISTRATIONS_BY_STATE.items():
            gauge.set(counts.get(state.value, 0))

    async def _run(
        self,
        context: DispatchContext,
        node_id: UUID,
        trigger: EnumRegistrationTrigger,
        request: ModelRegistrationRequest | None = None,
        *,
        at: datetime | None = None,
    ) -> WorkflowOutcome:
        return await self.workflow.run(
            node_id,
            trigger,
            at=at or now_utc(),
            cause_id=context.envelope.envelope_id,
            correlation_id=context.correlation_id,
            request=request,
        )

    def _rejection(self, context: DispatchContext, reason: str) -> ModelOutgoingMessage:
        raw_id = context.payload.get("node_id") if isinstance(context.payload, dict) else None
        node_id: UUID | None
        try:
            node_id = UUID(str(raw_id)) if raw_id is not None else None
        except ValueError:
            node_id = None
        return ModelOutgoingMessage(
            topic=self._rejected_topic,
            payload=ModelNodeRegistrationRejected(
                entity_id=node_id,
                node_id=node_id,
                correlation_id=context.correlation_id,
                causation_id=context.envelope.envelope_id,
                emitted_at=now_utc(),
                rejection_reason=reason,
            ),
            key=str(node_id) if node_id else None,
        )

    def _request_introspection(self, node_id: UUID) -> list[ModelOutgoingMessage]:
        """Ask an unknown node to introspect, at most once per interval."""
        if self._request_topic is None:
            return []
        now = time.monotonic()
        if now - self._requested.get(node_id, -1e9) < (
            self._settings.request_introspection_interval_seconds
        ):
            return []
        self._requested[node_id] = now
        if len(self._requested) > self._settings.cache_size:
            self._requested.pop(next(iter(self._requested)))
        request = ModelRequestIntrospectionEvent(node_id=node_id, requester_id=_REGISTRY_ID)
        return [ModelOutgoingMessage(topic=self._request_topic, payload=request, key=str(node_id))]


def _node_id(payload: JsonValue | BaseModel) -> UUID:
    try:
        return _NodeRef.model_validate(payload).node_id
    except ValidationError as exc:
        field, reason = first_validation_error(exc)
        raise EnvelopeValidationError(f"no valid node_id: {field}: {reason}") from None

"""MessageDispatchEngine: from bus message to node, and from node output back to the bus.

Per message: check the size, decode the envelope once, enter its correlation id (generating
one when absent), route by (topic, payload type) to the subscribing node's handler, validate
the payload into the route's input model, run the handler, and publish what it emitted with the
same correlation id and the input envelope as parent. Any failure goes to the failure policy
(dead-letter by default, delayed retry when configured), so one bad message never stops a
consumer. The bus callback returns only once the outcome is durable: the bus commits after it.
When the policy itself fails (its dead letter could not be written, even by reference, within
its bounded tries), the message is parked: the bus holds its partition, raises an alarm and
tries it again only after a long pause, instead of redelivering it in a loop.

Each node subscribes as its own consumer group (derived from its identity) to all of its topics
at once, so two nodes on the same topic both see every message (a COMPUTE node one message of
a partition at a time, the others as many as the bus delivers at once, in order per key); a
payload type that no node on the topic routes is dead-lettered, one routed only by other nodes
is skipped by this one. The nodes' groups are joined concurrently: a join on Kafka takes a
broker round of seconds, and a runtime waits for the slowest group, not for their sum.

After ``hold()`` deliveries wait until ``release()``: the host joins the groups while its
handlers and components start, and no message reaches a node before those are up.
"""

from __future__ import annotations

import asyncio
import functools
import time
from bisect import bisect_left
from collections import Counter
from uuid import uuid4

from pydantic import BaseModel, JsonValue, ValidationError

from omnibase_infra._core import EnumConsumerGroupPurpose
from omnibase_infra.correlation import enter_correlation_id
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.emitter import NodeOutputEmitter
from omnibase_infra.dispatch.failure_policy import DeadLetterPolicy
from omnibase_infra.dispatch.protocols import ProtocolFailurePolicy
from omnibase_infra.dispatch.route import DispatchRoute, make_route
from omnibase_infra.dispatch.subscription import Subscription
from omnibase_infra.dispatch.traced import Dispatch, traced
from omnibase_infra.enums import EnumDispatchOutcome, EnumTopicKind
from omnibase_infra.error_ids import assign_error_id
from omnibase_infra.errors import (
    EnvelopeValidationError,
    ProtocolConfigurationError,
    RuntimeHostError,
)
from omnibase_infra.event_bus.base import EventBusBase, OffsetReset, Unsubscribe
from omnibase_infra.event_bus.codec import JsonEnvelope, describe_validation_error
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.event_bus.topics import parse_topic
from omnibase_infra.models.model_node_identity import ModelNodeIdentity
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.observability.tracing import tracing_enabled

__all__ = ["DispatchRoute", "MessageDispatchEngine", "make_route"]

DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024

_log = get_logger(__name__)

_clock = time.perf_counter
# The envelope's validator itself: ``model_validate_json`` is a Python call around it.
_decode_json = JsonEnvelope.__pydantic_validator__.validate_json


class MessageDispatchEngine:
    """Routes bus messages to node handlers and publishes their output (see module doc)."""

    def __init__(
        self,
        bus: EventBusBase,
        *,
        failure_policy: ProtocolFailurePolicy | None = None,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        environment: str = "local",
        service: str = "omnibase-infra",
        auto_offset_reset: OffsetReset = "earliest",
    ) -> None:
        self._bus = bus
        self._policy: ProtocolFailurePolicy = failure_policy or DeadLetterPolicy(bus)
        self._max_bytes = max_message_bytes
        self._environment = environment
        self._service = service
        self._offset_reset: OffsetReset = auto_offset_reset
        self._subscriptions: dict[tuple[str, str], Subscription] = {}
        self._routed_payloads: dict[str, set[str]] = {}  # topic -> payload types any node routes
        self._topic_owner: dict[str, str] = {}  # topic -> the node that dead-letters its poison
        self._unsubscribers: list[Unsubscribe] = []
        self._emitter = NodeOutputEmitter(bus)
        # While held (joined early, see module) deliveries wait for the release.
        self._held = False
        self._released = asyncio.Event()
        self._joined: set[str] = set()

    # -- wiring -------------------------------------------------------------------------------

    @property
    def outcomes(self) -> Counter[EnumDispatchOutcome]:
        """How many consumed messages ended in each outcome (those that occurred)."""
        totals: Counter[EnumDispatchOutcome] = Counter()
        for sub in self._subscriptions.values():  # each counts its own (one increment less)
            for outcome, cell in sub.outcome_counts.items():
                if cell.value:
                    totals[outcome] += cell.value
        return totals

    @property
    def bus(self) -> EventBusBase:
        """The bus this engine consumes from and publishes to."""
        return self._bus

    @property
    def failure_policy(self) -> ProtocolFailurePolicy:
        """What happens to a message whose handling failed."""
        return self._policy

    def set_failure_policy(self, policy: ProtocolFailurePolicy) -> None:
        """Replace the failure policy (before ``start``)."""
        self._policy = policy

    def group_id_for(self, node_name: str) -> str:
        """The consumer group a node's subscriptions use."""
        identity = ModelNodeIdentity(
            env=self._environment, service=self._service, node_name=node_name
        )
        return EventBusBase.consumer_group_id(identity, EnumConsumerGroupPurpose.CONSUME, None)

    def add_route(self, route: DispatchRoute) -> None:
        """Register a route; topics are validated and DLQ topics refused."""
        if parse_topic(route.topic).kind is EnumTopicKind.DLQ:
            raise ProtocolConfigurationError(
                f"node {route.node_name} cannot subscribe to dead-letter topic {route.topic}",
                field="event_bus.subscribe_topics",
            )
        key = (route.topic, route.node_name)
        owner = self._topic_owner.get(route.topic)
        if owner is None or route.node_name < owner:
            self._topic_owner[route.topic] = route.node_name
        subscription = self._subscriptions.get(key)
        if subscription is None:
            subscription = Subscription(
                route.topic, route.node_name, self.group_id_for(route.node_name)
            )
            self._subscriptions[key] = subscription
        subscription.add(route)
        if route.payload_type is not None:
            self._routed_payloads.setdefault(route.topic, set()).add(route.payload_type)

    @property
    def consumer_groups(self) -> list[tuple[str, str]]:
        """Every ``(topic, consumer group)`` the engine consumes."""
        return [(sub.topic, sub.group_id) for sub in self._subscriptions.values()]

    @property
    def groups(self) -> dict[str, list[str]]:
        """Each consumer group (one per node) with the topics it reads."""
        groups: dict[str, list[str]] = {}
        for sub in self._subscriptions.values():
            groups.setdefault(sub.group_id, []).append(sub.topic)
        return groups

    @property
    def pending_groups(self) -> list[str]:
        """The consumer groups not joined yet (joining, or about to)."""
        return [group for group in self.groups if group not in self._joined]

    @property
    def routes(self) -> list[DispatchRoute]:
        """Every registered route."""
        return [route for sub in self._subscriptions.values() for route in sub.all_routes]

    async def start(self) -> None:
        """Join every node's consumer group, concurrently; returns once all joined.

        A failed join leaves every group again and raises.
        """
        by_group: dict[str, list[Subscription]] = {}
        for subscription in self._subscriptions.values():
            by_group.setdefault(subscription.group_id, []).append(subscription)
        began = time.monotonic()
        try:
            async with asyncio.TaskGroup() as joins:
                for group_id, subscriptions in by_group.items():
                    joins.create_task(self._join(group_id, subscriptions))
        except BaseException as exc:
            await self.stop()
            errors = exc.exceptions if isinstance(exc, BaseExceptionGroup) else ()
            if errors:
                raise errors[0] from None  # the first failed join says what went wrong
            raise
        if by_group:
            _log.info(
                "consumer groups joined",
                groups=len(by_group),
                topics=len(self._subscriptions),
                seconds=round(time.monotonic() - began, 3),
            )

    async def _join(self, group_id: str, subscriptions: list[Subscription]) -> None:
        """Join one node's group on all its topics (a partial per topic: no closure per call)."""
        unsubscribe = await self._bus.subscribe_group(
            {sub.topic: functools.partial(self._delivery, sub) for sub in subscriptions},
            group_id=group_id,
            auto_offset_reset=self._offset_reset,
            in_flight_per_partition=1 if all(s.is_pure for s in subscriptions) else None,
        )
        self._unsubscribers.append(unsubscribe)
        self._joined.add(group_id)

    def hold(self) -> None:
        """Hold every delivery until ``release()`` (they wait; nothing is handled)."""
        self._held = True
        self._released.clear()

    def release(self) -> None:
        """Let held deliveries through (the host's handlers and components are up)."""
        self._held = False
        self._released.set()

    async def stop(self) -> None:
        """Leave every consumer group (concurrently); returns once in-flight messages finished.

        Deliveries still held are handed back to the bus unhandled (never committed).
        """
        self._released.set()  # deliveries still held give their message back (see _dispatch)
        self._joined.clear()
        unsubscribers, self._unsubscribers = self._unsubscribers, []
        results = await asyncio.gather(*(u() for u in unsubscribers), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    # -- the hot path -------------------------------------------------------------------------

    async def dispatch(self, message: BusMessage, *, consumer_group: str) -> EnumDispatchOutcome:
        """Dispatch ``message`` as the node owning ``consumer_group`` would (used by retries)."""
        for subscription in self._subscriptions.values():
            if subscription.topic == message.topic and subscription.group_id == consumer_group:
                try:
                    return await self._delivery(subscription, message)
                finally:
                    enter_correlation_id(None)  # the caller's context keeps no message's id
        raise ProtocolConfigurationError(
            f"no node consumes {message.topic} as group {consumer_group}", field="consumer_group"
        )

    @property
    def _delivery(self) -> Dispatch:
        """What a delivery calls: ``_dispatch``, through the tracing check when tracing."""
        return traced(self._dispatch) if tracing_enabled() else self._dispatch

    async def _dispatch(self, sub: Subscription, message: BusMessage) -> EnumDispatchOutcome:
        """Decode, route and handle one message; a failure goes to the failure policy.

        The bus callback of every message, so decoding, routing and handling share this one
        coroutine instead of one per step, and the envelope and payload are validated by
        their pydantic validators themselves (``model_validate*`` add a Python call each).

        The message's correlation id stays set when it returns (setting a context variable
        back costs as much as setting it): the bus clears it once per delivery run, and the
        next message sets its own, or clears it (``_clear_correlation``) before it fails or is
        skipped without one, so no error, log line or handler sees another message's id.
        """
        if self._held:
            await self._released.wait()
            if self._held:  # stopped before release: the bus keeps it for a later consumer
                await message.nack()
                return EnumDispatchOutcome.RETRY
        began = _clock()
        sub.in_flight.value += 1
        try:
            try:
                value = message.value
                if len(value) > self._max_bytes:
                    raise _too_large(len(value), self._max_bytes)
                try:
                    envelope: JsonEnvelope = _decode_json(value)
                except ValidationError as exc:
                    raise _envelope_error(exc) from None
                # The common case is one dict lookup; ``_routes`` sorts out the rest.
                routes = sub.by_payload.get(envelope.payload_type) or self._routes(sub, envelope)
            except EnvelopeValidationError:
                # A message that is bad for every node on the topic is dead-lettered once, by
                # the topic's owner node; every other node's group skips it.
                if sub.node_name != self._topic_owner[sub.topic]:
                    routes = []
                else:
                    raise
            if routes:
                correlation_id = envelope.correlation_id or uuid4()
                enter_correlation_id(correlation_id)
                for route in routes:
                    validate = route.validate_payload
                    if validate is None:
                        payload: BaseModel | JsonValue = envelope.payload
                    else:
                        try:
                            payload = validate(envelope.payload)
                        except ValidationError as exc:
                            raise _payload_error(route.input_model, exc) from None
                    output = await route.handler.handle(
                        DispatchContext(envelope, payload, message, route.node_name, correlation_id)
                    )
                    if output is not None:
                        await self._emitter.emit(
                            route, envelope, correlation_id, output, message.key
                        )
                outcome = EnumDispatchOutcome.HANDLED
            else:
                outcome = EnumDispatchOutcome.UNROUTED  # another node on this topic takes it
        except Exception as exc:
            if not isinstance(exc, RuntimeHostError):
                _log_unexpected(sub, message, exc)
            outcome = await self._fail(sub, message, exc)
        finally:
            sub.in_flight.value -= 1
        # HistogramCell.observe inlined: one call less per message on the hot path.
        elapsed = _clock() - began
        handling = sub.handling
        if elapsed <= handling.first_bound:
            handling.counts[0] += 1
        else:
            handling.counts[bisect_left(handling.bounds, elapsed)] += 1
        handling.sum += elapsed
        sub.outcome_counts[outcome].value += 1  # ``outcomes`` sums these
        return outcome

    async def _fail(
        self, sub: Subscription, message: BusMessage, error: Exception
    ) -> EnumDispatchOutcome:
        """Hand a failure to the policy; park the message when the policy cannot settle it."""
        try:
            return await self._policy.on_failure(message, error, consumer_group=sub.group_id)
        except Exception as failure:
            message.park()
            _log.error(
                "message parked: its failure could not be made durable",
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                consumer_group=sub.group_id,
                error_type=type(error).__name__,
                failure_type=type(failure).__name__,
                failure=str(failure)[:500],
            )
            return EnumDispatchOutcome.PARKED

    def _routes(self, sub: Subscription, envelope: JsonEnvelope) -> list[DispatchRoute]:
        """The node's routes for the payload; empty when only other nodes route it."""
        _clear_correlation()  # the previous message's id, if any (see _dispatch)
        routes = sub.routes_for(envelope.payload_type)
        if routes:
            return routes
        routed = self._routed_payloads.get(sub.topic)
        if routed and envelope.payload_type in routed:
            return []
        raise EnvelopeValidationError(
            f"no node routes payload type {envelope.payload_type!r} on {sub.topic}"
        )


def _log_unexpected(sub: Subscription, message: BusMessage, error: Exception) -> None:
    """One line with the traceback of an exception no handler translated (a bug, most likely),
    under the id its dead letter will carry."""
    _log.error(
        "handler raised an unexpected exception",
        error_id=str(assign_error_id(error)),
        node=sub.node_name,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        error_type=type(error).__name__,
        exc_info=error,
    )


def _clear_correlation() -> None:
    """Clear the previous message's correlation id before a message that has none set yet
    fails or is skipped (an error takes the ambient id when made; see ``_dispatch``)."""
    enter_correlation_id(None)


def _too_large(size: int, limit: int) -> EnvelopeValidationError:
    """The typed error of a message over the engine's size limit."""
    _clear_correlation()
    return EnvelopeValidationError(f"message of {size} bytes exceeds the limit of {limit} bytes")


def _envelope_error(error: ValidationError) -> EnvelopeValidationError:
    """The typed error of a value that is not an envelope."""
    _clear_correlation()
    return EnvelopeValidationError(
        f"not a valid event envelope: {describe_validation_error(error)}"
    )


def _payload_error(
    input_model: type[BaseModel] | None, error: ValidationError
) -> EnvelopeValidationError:
    """The typed error of a payload that is not a valid ``input_model``."""
    name = input_model.__name__ if input_model is not None else "payload"
    return EnvelopeValidationError(
        f"payload is not a valid {name}: {describe_validation_error(error)}"
    )

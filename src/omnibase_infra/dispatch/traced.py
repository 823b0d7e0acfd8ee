"""The dispatch engine's deliveries under tracing: a CONSUMER span per delivery and node.

Only in the path while a tracer is configured; without one the engine hands ``_dispatch``
itself to the bus, so tracing that is off costs deliveries nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from omnibase_infra.dispatch.subscription import Subscription
from omnibase_infra.enums import EnumDispatchOutcome
from omnibase_infra.event_bus.message import BusMessage
from omnibase_infra.observability.tracing import consumer_span, span_wanted

__all__ = ["Dispatch", "traced"]

Dispatch = Callable[[Subscription, BusMessage], Awaitable[EnumDispatchOutcome]]


def traced(dispatch: Dispatch) -> Dispatch:
    """``dispatch`` in the node's CONSUMER span when the delivery wants one (its headers carry
    a trace, or new traces are sampled), else ``dispatch`` itself with no extra frame."""

    async def in_span(sub: Subscription, message: BusMessage) -> EnumDispatchOutcome:
        # One span per delivery per node: consume, dispatch and the node's handler.
        with consumer_span(
            message.topic,
            consumer_group=sub.group_id,
            node=sub.node_name,
            headers=message.headers,
        ) as span:
            outcome = await dispatch(sub, message)
            if span is not None:
                span.set_attribute("onex.outcome", outcome.value)
            return outcome

    def delivery(sub: Subscription, message: BusMessage) -> Awaitable[EnumDispatchOutcome]:
        if span_wanted(message.header_view):  # read without copying them
            return in_span(sub, message)
        return dispatch(sub, message)

    return delivery

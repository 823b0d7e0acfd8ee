"""One node's consumer group on one topic: its routes by payload type and its metric cells."""

from __future__ import annotations

from omnibase_infra._core import EnumNodeKind
from omnibase_infra.dispatch.counters import CountCells, GaugeCells, HistogramCells
from omnibase_infra.dispatch.route import DispatchRoute
from omnibase_infra.enums import EnumDispatchOutcome

__all__ = ["Subscription"]

_MESSAGES = CountCells(
    "onex_dispatch_messages",
    "Messages consumed by the dispatch engine, by node and outcome.",
    ("node", "outcome"),
)
_HANDLING = HistogramCells(
    "onex_dispatch_handling_duration_seconds",
    "Time from delivery to outcome of each message a node consumed (decode, handle, emit, "
    "failure policy), by node.",
    ("node",),
    (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
_IN_FLIGHT = GaugeCells(
    "onex_dispatch_in_flight_messages",
    "Messages a node is handling right now, by node.",
    ("node",),
)


class Subscription:
    """One node's consumer group on one topic, with its routes by payload type.

    The metric cells are looked up once here, so counting a message costs an attribute
    increment, not a label lookup.
    """

    __slots__ = (
        "by_payload",
        "catch_all",
        "group_id",
        "handling",
        "in_flight",
        "node_name",
        "outcome_counts",
        "topic",
    )

    def __init__(self, topic: str, node_name: str, group_id: str) -> None:
        self.topic = topic
        self.node_name = node_name
        self.group_id = group_id
        # Payload type -> the node's routes for it (never an empty list, never a None key:
        # typed so that an envelope's optional payload type is looked up as it is).
        self.by_payload: dict[str | None, list[DispatchRoute]] = {}
        self.catch_all: list[DispatchRoute] = []
        self.outcome_counts = {
            outcome: _MESSAGES.cell(node_name, outcome.value) for outcome in EnumDispatchOutcome
        }
        self.handling = _HANDLING.cell(node_name)
        self.in_flight = _IN_FLIGHT.cell(node_name)

    def add(self, route: DispatchRoute) -> None:
        """Route the route's payload type (every type: ``payload_type`` None) to it."""
        if route.payload_type is None:
            self.catch_all.append(route)
        else:
            self.by_payload.setdefault(route.payload_type, []).append(route)

    def routes_for(self, payload_type: str | None) -> list[DispatchRoute]:
        """The routes of ``payload_type``, else the catch-all ones (maybe none)."""
        if payload_type is not None:
            routes = self.by_payload.get(payload_type)
            if routes:
                return routes
        return self.catch_all

    @property
    def all_routes(self) -> list[DispatchRoute]:
        """Every route of this subscription, whatever its payload type."""
        return [r for routes in (*self.by_payload.values(), self.catch_all) for r in routes]

    @property
    def is_pure(self) -> bool:
        """Whether only COMPUTE nodes handle it: their handling never waits (pure, emits
        nothing), so delivering several messages at once would only add tasks."""
        return all(route.archetype is EnumNodeKind.COMPUTE for route in self.all_routes)

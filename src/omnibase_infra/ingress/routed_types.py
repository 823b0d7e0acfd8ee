"""Which payload types the runtime's own nodes take on a topic, so the ingress can refuse the
rest at the door (422) instead of accepting them into the dead-letter queue."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from omnibase_infra.ingress.errors import IngressRequestError, field_error

__all__ = ["check_routed", "routed_types_of"]


def routed_types_of(routes: Iterable[tuple[str, str | None]]) -> dict[str, frozenset[str]]:
    """``topic -> payload types`` from ``(topic, payload_type)`` routes; a topic with a route
    for every type (payload_type None) is left out, as is every topic no node routes."""
    types: dict[str, set[str]] = {}
    takes_any: set[str] = set()
    for topic, payload_type in routes:
        if payload_type is None:
            takes_any.add(topic)
        else:
            types.setdefault(topic, set()).add(payload_type)
    return {topic: frozenset(names) for topic, names in types.items() if topic not in takes_any}


def check_routed(
    routed: Mapping[str, frozenset[str]], topic: str, payload_type: str | None, *, in_query: bool
) -> None:
    """Refuse (422) a payload type that no node of this runtime takes on ``topic``, naming
    the ones that are taken (types are names from contracts, never request values)."""
    accepted = routed.get(topic)
    if accepted is None or payload_type in accepted:
        return
    loc: list[str | int] = ["query", "payload_type"] if in_query else ["body", "payload_type"]
    msg = f"no node takes this payload type on {topic}; it takes {', '.join(sorted(accepted))}"
    raise IngressRequestError(
        422, f"{'.'.join(map(str, loc))}: {msg}", detail=[field_error(loc, msg)]
    )

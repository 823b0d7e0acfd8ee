"""The ingress's knowledge of which payload types the runtime's nodes take per topic."""

from __future__ import annotations

import pytest

from omnibase_infra.ingress.errors import IngressRequestError
from omnibase_infra.ingress.routed_types import check_routed, routed_types_of


def test_a_topic_with_a_route_for_every_type_is_left_out() -> None:
    """A route without a payload type takes everything on its topic, so that topic has no
    list to check against, while typed topics list each type once."""
    routed = routed_types_of(
        [
            ("t.a", "ModelA"),
            ("t.a", "ModelB"),
            ("t.a", "ModelA"),
            ("t.any", "ModelC"),
            ("t.any", None),
        ]
    )
    assert routed == {"t.a": frozenset({"ModelA", "ModelB"})}


def test_a_type_no_node_takes_is_refused_naming_the_taken_ones() -> None:
    """An untaken type on a typed topic is a 422 at the field it came from, listing the taken
    types sorted; a taken type and an unrouted topic pass."""
    routed = {"t.a": frozenset({"ModelB", "ModelA"})}
    check_routed(routed, "t.a", "ModelA", in_query=True)
    check_routed(routed, "t.other", "Anything", in_query=True)
    with pytest.raises(IngressRequestError) as caught:
        check_routed(routed, "t.a", "ModelZ", in_query=False)
    assert caught.value.status == 422
    (detail,) = caught.value.detail
    assert detail["loc"] == ["body", "payload_type"]
    assert "it takes ModelA, ModelB" in str(detail["msg"])

"""Reading introspections: core's shape, the published package's shape, and rejections.

Both payload shapes arrive on one topic; ``normalize_introspection`` recognises each by its
fields and turns it into one ``ModelRegistrationRequest``. Anything that cannot be registered is
an ``IntrospectionValidationError`` whose reason names the field and never the value.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest
from pydantic import JsonValue

from omnibase_infra._core import ModelNodeCapability, ModelNodeIntrospectionEvent, ModelSemVer
from omnibase_infra.errors import EnvelopeValidationError
from omnibase_infra.nodes.registration.client import ModelNodeDescription, NodeRegistrationClient
from omnibase_infra.nodes.registration.introspection import (
    IntrospectionValidationError,
    normalize_introspection,
    semver_text,
)

_SECRET = "s3cr3t-Value-9f2"


def core_payload(**overrides: JsonValue) -> dict[str, JsonValue]:
    """Core's introspection event as it travels (JSON), with fields replaced as asked."""
    version = ModelSemVer(major=2, minor=4, patch=1)
    event = ModelNodeIntrospectionEvent(
        node_id=uuid4(),
        node_name="billing-effect",
        version=version,
        node_type="effect",
        capabilities=ModelNodeCapability(
            value="billing.charge", description="charges", version_introduced=version
        ),
        health_endpoint="http://127.0.0.1:9100/health",
    )
    payload: dict[str, JsonValue] = event.model_dump(mode="json")
    payload.update(overrides)
    return payload


def published_payload(**overrides: JsonValue) -> dict[str, JsonValue]:
    """The published omnibase-infra package's introspection payload, fields replaced as asked."""
    payload: dict[str, JsonValue] = {
        "node_id": str(uuid4()),
        "node_name": "ledger-reducer",
        "node_type": "REDUCER_GENERIC",
        "node_version": {"major": 0, "minor": 38, "patch": 76},
        "declared_capabilities": {"ledger.write": True, "ledger.audit": {"level": 2}, "off": False},
        "endpoints": {"health": "http://127.0.0.1:9200/health", "api": "http://127.0.0.1:9200"},
        "reason": "startup",
        "timestamp": "2026-11-20T10:00:00+00:00",
        "correlation_id": str(uuid4()),
        "metadata": {"a large model": ["whose other fields registration ignores"]},
    }
    payload.update(overrides)
    return payload


# -- core's shape ------------------------------------------------------------------------------


def test_core_shape_becomes_a_request_with_the_same_node_id() -> None:
    """Core's event keeps its UUID node id, name, archetype, version, capability and health."""
    payload = core_payload()
    request = normalize_introspection(payload)
    assert request.node_id == UUID(str(payload["node_id"]))
    assert request.node_name == "billing-effect"
    assert request.node_type == "effect"
    assert request.node_version == "2.4.1"
    assert request.capabilities == ("billing.charge",)
    assert request.health_endpoint == "http://127.0.0.1:9100/health"
    assert request.endpoints == {}
    assert request.observed_at == datetime.fromisoformat(str(payload["timestamp"]))
    assert request.source_shape == "core"


def test_core_shape_with_a_name_like_node_id_gets_a_stable_derived_uuid() -> None:
    """A non-UUID node id in core's shape maps to core's derived UUID, the same every time."""
    first = normalize_introspection(core_payload(node_id="billing-node-7"))
    again = normalize_introspection(core_payload(node_id="billing-node-7"))
    other = normalize_introspection(core_payload(node_id="billing-node-8"))
    assert first.node_id == again.node_id
    assert first.node_id != other.node_id


def test_what_the_client_publishes_in_core_shape_is_read_back() -> None:
    """The registration client's core-shape introspection normalises to the node it describes."""
    description = ModelNodeDescription(
        node_name="client-node", node_type="compute", major=3, minor=1, capability="calc"
    )
    payload = NodeRegistrationClient(bus=None, description=description)._introspection()  # type: ignore[arg-type]
    assert not isinstance(payload, dict)
    request = normalize_introspection(payload.model_dump(mode="json"))
    assert (request.node_id, request.node_name, request.node_type) == (
        description.node_id,
        "client-node",
        "compute",
    )
    assert (request.node_version, request.capabilities) == ("3.1.0", ("calc",))


# -- the published package's shape ------------------------------------------------------------


def test_published_shape_becomes_a_request() -> None:
    """node_id, node_type, node_version, declared_capabilities and endpoints are all read."""
    payload = published_payload()
    request = normalize_introspection(payload)
    assert request.node_id == UUID(str(payload["node_id"]))
    assert request.node_name == "ledger-reducer"
    assert request.node_type == "reducer"
    assert request.node_version == "0.38.76"
    # Declared and enabled capabilities only, sorted; a disabled one is left out.
    assert request.capabilities == ("ledger.audit", "ledger.write")
    assert request.endpoints == {
        "health": "http://127.0.0.1:9200/health",
        "api": "http://127.0.0.1:9200",
    }
    assert request.health_endpoint == "http://127.0.0.1:9200/health"
    assert request.observed_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert request.source_shape == "published"


@pytest.mark.parametrize(
    ("node_type", "expected"),
    [
        ("effect", "effect"),
        ("COMPUTE_GENERIC", "compute"),
        (" Orchestrator ", "orchestrator"),
        ("runtime_host", "runtime_host"),
    ],
)
def test_published_archetype_names_are_normalised(node_type: str, expected: str) -> None:
    """The published package's archetype spellings map to the registry's node types."""
    assert normalize_introspection(published_payload(node_type=node_type)).node_type == expected


def test_published_shape_defaults_what_it_may_omit() -> None:
    """Without a name, capabilities, endpoints or version the node still registers."""
    node_id = uuid4()
    request = normalize_introspection(
        {
            "node_id": str(node_id),
            "node_type": "effect",
            "node_version": None,
            "timestamp": "2026-11-20T10:00:00",
        }
    )
    assert request.node_name == f"node-{node_id}"
    assert request.node_version == "0.0.0"
    assert (request.capabilities, request.endpoints, request.health_endpoint) == ((), {}, None)
    # A naive timestamp is read as UTC.
    assert request.observed_at == datetime(2026, 11, 20, 10, tzinfo=UTC)


def test_published_timestamp_with_an_offset_keeps_the_instant() -> None:
    """An offset timestamp denotes the same instant after normalisation."""
    request = normalize_introspection(published_payload(timestamp="2026-11-20T12:00:00+02:00"))
    assert request.observed_at == datetime(2026, 11, 20, 12, tzinfo=timezone(timedelta(hours=2)))
    assert request.observed_at == datetime(2026, 11, 20, 10, tzinfo=UTC)


def test_version_strings_and_mappings_render_as_semver_text() -> None:
    """semver_text reads mappings, ModelSemVer-like objects and strings; empty is 0.0.0."""
    assert semver_text({"major": 1, "minor": 2, "patch": 3}) == "1.2.3"
    assert semver_text({"major": 4}) == "4.0.0"
    assert semver_text(ModelSemVer(major=5, minor=6, patch=7)) == "5.6.7"
    assert semver_text("1.0.0-rc.1") == "1.0.0-rc.1"
    assert semver_text("") == "0.0.0"
    assert semver_text(None) == "0.0.0"


# -- rejections --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (published_payload(node_id=_SECRET), "node_id"),
        (published_payload(node_type=f"mainframe-{_SECRET}"), "node_type"),
        (published_payload(timestamp=f"yesterday-{_SECRET}"), "timestamp"),
        (published_payload(endpoints={"health": 5}), "endpoints.health"),
        (published_payload(node_version="9" * 65 + _SECRET), "node_version"),
        (published_payload(node_name="n" * 201 + _SECRET), "node_name"),
        (core_payload(node_type=_SECRET), "node_type"),
        (core_payload(node_name=""), "node_name"),
        (core_payload(node_name="n" * 201 + _SECRET), "node_name"),
        (core_payload(version=_SECRET), "version"),
        (core_payload(node_id=None), "node_id"),
        ({"node_name": _SECRET, "node_type": "effect"}, None),
    ],
)
def test_invalid_payloads_are_rejected_naming_the_field_not_the_value(
    payload: dict[str, JsonValue], field: str | None
) -> None:
    """Each invalid payload is an IntrospectionValidationError naming the field, never a value."""
    with pytest.raises(IntrospectionValidationError) as caught:
        normalize_introspection(payload)
    error = caught.value
    assert isinstance(error, EnvelopeValidationError)  # dispatch's bad-input error
    if field is not None:
        assert f": {field}:" in error.message or f"{field} must" in error.message
    text = f"{error.message} {error!s} {error.model.context}"
    assert _SECRET not in text
    assert _SECRET[:3] not in text  # not even a fragment of it


@pytest.mark.parametrize("payload", [None, [], "introspection", 42, True])
def test_a_payload_that_is_not_an_object_is_rejected(payload: JsonValue) -> None:
    """A JSON payload that is not an object cannot be an introspection."""
    with pytest.raises(IntrospectionValidationError) as caught:
        normalize_introspection(payload)
    assert caught.value.message == "introspection payload must be a JSON object"


def test_a_reason_that_would_quote_part_of_the_input_does_not() -> None:
    """Parser messages that quote a character of the input (UUIDs) have it masked."""
    with pytest.raises(IntrospectionValidationError) as caught:
        normalize_introspection(published_payload(node_id="zq-not-a-uuid"))
    assert "node_id" in caught.value.message
    assert "`z`" not in caught.value.message
    assert "zq" not in caught.value.message

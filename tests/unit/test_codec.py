"""The wire format: core's ModelEventEnvelope as JSON, decoded once, with clear typed errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from omnibase_infra._core import ModelEventEnvelope
from omnibase_infra.errors import EnvelopeValidationError
from omnibase_infra.event_bus.codec import (
    JsonEnvelope,
    decode_envelope,
    describe_validation_error,
    encode_envelope,
    encode_new_envelope,
    envelope_headers,
    new_envelope,
)
from omnibase_infra.event_bus.headers import (
    HEADER_CORRELATION_ID,
    HEADER_ENVELOPE_ID,
    HEADER_EVENT_TYPE,
    HEADER_PAYLOAD_TYPE,
)


class ModelOrderPlaced(BaseModel):
    """A typed payload with nested and non-JSON-native fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: UUID
    amount_cents: int
    placed_at: datetime
    lines: tuple[str, ...]
    note: str | None = None


def _envelope(**overrides: object) -> ModelEventEnvelope[ModelOrderPlaced]:
    payload = ModelOrderPlaced(
        order_id=uuid4(),
        amount_cents=1999,
        placed_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        lines=("sku-1", "sku-2"),
    )
    fields: dict[str, object] = {
        "payload": payload,
        "correlation_id": uuid4(),
        "payload_type": "ModelOrderPlaced",
        "event_type": "demo.order-placed",
        "source_tool": "demo_flow_orchestrator",
    }
    fields.update(overrides)
    return ModelEventEnvelope[ModelOrderPlaced](**fields)  # type: ignore[arg-type]


def test_round_trip_keeps_envelope_fields_and_typed_payload() -> None:
    """Encoding then decoding keeps ids, types and timestamps, and the payload re-validates."""
    original = _envelope(parent_envelope_id=uuid4(), priority=8)
    decoded = decode_envelope(encode_envelope(original))
    assert isinstance(decoded, JsonEnvelope)
    assert decoded.envelope_id == original.envelope_id
    assert decoded.correlation_id == original.correlation_id
    assert decoded.parent_envelope_id == original.parent_envelope_id
    assert decoded.envelope_timestamp == original.envelope_timestamp
    assert decoded.payload_type == "ModelOrderPlaced"
    assert decoded.event_type == "demo.order-placed"
    assert decoded.priority == 8
    # The payload is plain JSON once decoded; the route's input model gives it back its type.
    assert isinstance(decoded.payload, dict)
    assert ModelOrderPlaced.model_validate(decoded.payload) == original.payload


def test_encoding_is_json_without_absent_optionals() -> None:
    """The wire bytes are one JSON object that omits unset optional fields."""
    raw = encode_envelope(_envelope())
    data = json.loads(raw)
    assert isinstance(data, dict)
    assert "target_tool" not in data
    assert "security_context" not in data
    assert data["payload"]["amount_cents"] == 1999


def test_decoding_is_stable_under_re_encoding() -> None:
    """A decoded envelope re-encodes to the same JSON document (nothing added or lost)."""
    raw = encode_envelope(_envelope())
    assert json.loads(encode_envelope(decode_envelope(raw))) == json.loads(raw)


def test_envelope_headers_carry_ids_and_types() -> None:
    """The routing headers can be read without decoding the value."""
    envelope = _envelope()
    assert envelope_headers(envelope) == {
        HEADER_ENVELOPE_ID: str(envelope.envelope_id),
        HEADER_CORRELATION_ID: str(envelope.correlation_id),
        HEADER_PAYLOAD_TYPE: "ModelOrderPlaced",
        HEADER_EVENT_TYPE: "demo.order-placed",
    }


def test_envelope_headers_omit_absent_values() -> None:
    """An envelope without correlation or types has only its envelope id header."""
    envelope = JsonEnvelope(payload={"a": 1})
    assert envelope_headers(envelope) == {HEADER_ENVELOPE_ID: str(envelope.envelope_id)}


_SENTINEL = "Sentinel-Value-73519"

_BAD_INPUTS: list[tuple[str, bytes, str]] = [
    ("not json", f"hello {_SENTINEL}".encode(), "Invalid JSON"),
    ("truncated json", b'{"payload": {"a": "' + _SENTINEL.encode(), "Invalid JSON"),
    ("invalid utf-8", b'{"payload": "\xff\xfe' + _SENTINEL.encode() + b'"}', "<root>"),
    ("empty", b"", "Invalid JSON"),
    ("json array", f'["{_SENTINEL}"]'.encode(), "Input should be an object"),
    ("json string", f'"{_SENTINEL}"'.encode(), "Input should be an object"),
    ("missing payload", f'{{"source_tool": "{_SENTINEL}"}}'.encode(), "payload: Field required"),
    (
        "wrong type",
        f'{{"payload": 1, "correlation_id": "{_SENTINEL}"}}'.encode(),
        "correlation_id: Input should be a valid UUID",
    ),
    (
        "wrong number",
        f'{{"payload": 1, "priority": "{_SENTINEL}"}}'.encode(),
        "priority: Input should be a valid integer",
    ),
    (
        "extra field",
        f'{{"payload": 1, "surprise": "{_SENTINEL}"}}'.encode(),
        "surprise: Extra inputs are not permitted",
    ),
]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(raw, reason) for _, raw, reason in _BAD_INPUTS],
    ids=[i for i, *_ in _BAD_INPUTS],
)
def test_bad_bytes_raise_envelope_validation_error_without_echoing_input(
    raw: bytes, reason: str
) -> None:
    """Undecodable bytes raise EnvelopeValidationError saying where and why, never the values."""
    with pytest.raises(EnvelopeValidationError) as caught:
        decode_envelope(raw)
    error = caught.value
    assert reason in error.message
    for text in (str(error), error.model.model_dump_json()):
        assert _SENTINEL not in text
        assert "Sentinel" not in text
    assert error.retriable is False
    assert error.__cause__ is None  # pydantic's error (which holds the input) is not chained


def test_many_errors_are_summarised() -> None:
    """A message with many problems lists the first few and counts the rest."""
    raw = json.dumps(
        {"payload": 1, "a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "priority": "x"}
    ).encode()
    with pytest.raises(EnvelopeValidationError) as caught:
        decode_envelope(raw)
    assert "... 3 more" in caught.value.message


def test_describe_validation_error_never_includes_input() -> None:
    """The helper reports location and message only, for any model's error."""

    class ModelSecretHolder(BaseModel):
        count: int

    with pytest.raises(ValidationError) as caught:
        ModelSecretHolder.model_validate({"count": f"password {_SENTINEL}"})
    text = describe_validation_error(caught.value)
    assert text.startswith("count: Input should be a valid integer")
    assert _SENTINEL not in text


@pytest.mark.parametrize("caused", [True, False], ids=["with parent", "without parent"])
def test_encode_new_envelope_makes_the_bytes_and_headers_of_cores_envelope(caused: bool) -> None:
    """``encode_new_envelope`` writes exactly what core's envelope of the same ids encodes to."""
    payload = ModelOrderPlaced(
        order_id=uuid4(),
        amount_cents=5,
        placed_at=datetime(2026, 1, 2, 3, 4, 5, 600, tzinfo=UTC),
        lines=("a",),
    )
    correlation_id, parent = uuid4(), uuid4() if caused else None
    source_tool = "node_a" if caused else None
    value, headers = encode_new_envelope(
        payload,
        correlation_id=correlation_id,
        producer="node_a",
        parent_envelope_id=parent,
        source_tool=source_tool,
    )
    sent = json.loads(value)
    core = new_envelope(
        payload,
        correlation_id=correlation_id,
        producer="node_a",
        parent_envelope_id=parent,
        source_tool=source_tool,
    ).model_copy(
        update={
            "envelope_id": UUID(sent["envelope_id"]),
            "envelope_timestamp": datetime.fromisoformat(sent["envelope_timestamp"]),
        }
    )
    assert value == encode_envelope(core)
    assert headers == envelope_headers(core)
    decoded = ModelEventEnvelope[ModelOrderPlaced].model_validate_json(value)
    assert decoded.payload == payload
    assert decoded.envelope_id.version == 4


def test_encode_new_envelope_gives_each_message_its_own_id() -> None:
    """Two envelopes made one after the other never share an envelope id."""
    payload = ModelOrderPlaced(
        order_id=uuid4(), amount_cents=1, placed_at=datetime.now(UTC), lines=()
    )
    ids = {
        encode_new_envelope(payload, correlation_id=uuid4(), producer="p")[1][HEADER_ENVELOPE_ID]
        for _ in range(1000)
    }
    assert len(ids) == 1000


def test_encode_new_envelope_refuses_a_blank_producer() -> None:
    """A blank producer is refused, as core's envelope refuses it."""
    payload = ModelOrderPlaced(
        order_id=uuid4(), amount_cents=1, placed_at=datetime.now(UTC), lines=()
    )
    with pytest.raises(ValueError, match="producer"):
        encode_new_envelope(payload, correlation_id=uuid4(), producer="  ")

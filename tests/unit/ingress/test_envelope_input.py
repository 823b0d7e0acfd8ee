"""What a POST carries, checked without a server: topics outsiders may send to, the
correlation header, and the envelope (given whole, or made around a bare payload)."""

from __future__ import annotations

from uuid import uuid4

import pytest

from omnibase_infra.ingress.envelope_input import check_topic, correlation_id_of, envelope_of
from omnibase_infra.ingress.errors import IngressRequestError


def test_cmd_and_evt_topics_pass() -> None:
    """Commands and events on the grammar are accepted."""
    check_topic("onex.cmd.orders.place.v1")
    check_topic("onex.evt.orders.placed.v2")


@pytest.mark.parametrize(
    "topic",
    [
        "onex.dlq.orders.place.v1",
        "onex.intent.orders.x.v1",
        "onex.cmd.orders.place-retry3.v1",
        "onex.cmd.orders.place.v1\n",
        "x" * 300,
    ],
)
def test_other_topics_are_422_on_path_topic(topic: str) -> None:
    """DLQ, intent, retry and malformed topics: 422 on path.topic."""
    with pytest.raises(IngressRequestError) as caught:
        check_topic(topic)
    assert caught.value.status == 422
    assert caught.value.detail[0]["loc"] == ["path", "topic"]


def test_bare_payload_is_wrapped_with_the_given_correlation() -> None:
    """A bare payload becomes an envelope of the given type, producer and correlation id."""
    correlation = uuid4()
    envelope = envelope_of(
        b'{"a": [1, 2]}', payload_type="ModelThing", correlation_id=correlation, producer="p"
    )
    assert envelope.payload == {"a": [1, 2]}
    assert envelope.payload_type == "ModelThing"
    assert envelope.correlation_id == correlation


def test_envelope_keeps_its_correlation_and_gets_one_when_missing() -> None:
    """An envelope's own correlation id wins over the header's; one without gets the header's."""
    own, header = uuid4(), uuid4()
    body = f'{{"payload": {{}}, "correlation_id": "{own}"}}'.encode()
    assert (
        envelope_of(body, payload_type=None, correlation_id=header, producer="p").correlation_id
        == own
    )
    made = envelope_of(b'{"payload": {}}', payload_type=None, correlation_id=header, producer="p")
    assert made.correlation_id == header


def test_wrong_shapes_name_the_field_without_the_value() -> None:
    """A bad field of an envelope is named by its body path; the value is not repeated."""
    with pytest.raises(IngressRequestError) as caught:
        envelope_of(
            b'{"payload": {}, "envelope_id": "leaky-value-123"}',
            payload_type=None,
            correlation_id=None,
            producer="p",
        )
    assert caught.value.detail[0]["loc"] == ["body", "envelope_id"]
    assert "leaky-value-123" not in str(caught.value.detail) + caught.value.message
    with pytest.raises(IngressRequestError) as bad_header:
        correlation_id_of("leaky-value-123")
    assert bad_header.value.detail[0]["loc"] == ["header", "x-correlation-id"]
    assert "leaky" not in bad_header.value.message

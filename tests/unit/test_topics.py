"""Topic names: the grammar onex.<kind>.<producer>.<event>.v<N>, building and DLQ topics."""

from __future__ import annotations

import pytest

from omnibase_infra.enums import EnumTopicKind
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.event_bus.topics import ModelTopic, build_topic, dlq_topic_for, parse_topic

_ACCEPTED: list[tuple[str, EnumTopicKind, str, str, int]] = [
    (
        "onex.evt.registration.node-registered.v1",
        EnumTopicKind.EVT,
        "registration",
        "node-registered",
        1,
    ),
    ("onex.cmd.demo.score.v2", EnumTopicKind.CMD, "demo", "score", 2),
    ("onex.intent.demo.store_record.v10", EnumTopicKind.INTENT, "demo", "store_record", 10),
    ("onex.dlq.demo.store-record.v9999", EnumTopicKind.DLQ, "demo", "store-record", 9999),
    ("onex.evt.a.b.v1", EnumTopicKind.EVT, "a", "b", 1),
    ("onex.evt.node2.event3.v3", EnumTopicKind.EVT, "node2", "event3", 3),
    ("onex.evt.0.9.v1", EnumTopicKind.EVT, "0", "9", 1),
    (f"onex.evt.{'p' * 64}.{'e' * 64}.v1", EnumTopicKind.EVT, "p" * 64, "e" * 64, 1),
]


@pytest.mark.parametrize(("name", "kind", "producer", "event", "version"), _ACCEPTED)
def test_valid_topic_is_parsed_into_its_parts(
    name: str, kind: EnumTopicKind, producer: str, event: str, version: int
) -> None:
    """A name that follows the grammar parses into kind, producer, event and version."""
    topic = parse_topic(name)
    assert topic == ModelTopic(kind=kind, producer=producer, event=event, version=version)
    assert topic.name == name


_REJECTED = [
    "",
    "onex",
    "onex.evt.demo.thing",  # no version
    "onex.evt.demo.thing.1",  # version without v
    "onex.evt.demo.thing.v0",  # versions start at 1
    "onex.evt.demo.thing.v01",  # no leading zero
    "onex.evt.demo.thing.v10000",  # at most four digits
    "onex.evt.demo.thing.v1.extra",
    "onex.event.demo.thing.v1",  # unknown kind
    "onex.EVT.demo.thing.v1",
    "onex.evt.Demo.thing.v1",  # upper case
    "ONEX.evt.demo.thing.v1",
    "omni.evt.demo.thing.v1",  # wrong prefix
    "x.onex.evt.demo.thing.v1",
    "onex.evt..thing.v1",  # empty segment
    "onex.evt.demo..v1",
    "onex.evt.-demo.thing.v1",  # segments start and end with a letter or digit
    "onex.evt.demo_.thing.v1",
    "onex.evt.demo.thing-.v1",
    "onex.evt.de mo.thing.v1",  # whitespace
    " onex.evt.demo.thing.v1",
    "onex.evt.demo.thing.v1 ",
    "onex.evt.demo.thing.v1\n",  # a trailing newline is not the end of the name
    "onex.evt.demo.thing.v1\x00",
    "onex.evt.dému.thing.v1",  # non-ASCII
    "onex.evt.demo/../x.thing.v1",
    "onex.evt.demo.thing.v1.",
    ".onex.evt.demo.thing.v1",
    f"onex.evt.{'p' * 65}.thing.v1",  # segment longer than 64
    "onex.evt.demo.thing.V1",
    "onex.evt.demo.thing.v-1",
    "onex.evt.demo.thing.v1*",
    "onex.evt.*.thing.v1",
]


@pytest.mark.parametrize("name", _REJECTED)
def test_invalid_topic_is_rejected_with_a_typed_error(name: str) -> None:
    """A name outside the grammar raises ProtocolConfigurationError naming the field."""
    with pytest.raises(ProtocolConfigurationError) as caught:
        parse_topic(name)
    assert caught.value.field == "topic"
    assert "onex.<evt|cmd|intent|dlq>.<producer>.<event>.v<N>" in caught.value.reason


def test_rejection_message_is_bounded() -> None:
    """A huge invalid name is quoted only in part, so errors and logs stay small."""
    with pytest.raises(ProtocolConfigurationError) as caught:
        parse_topic("x" * 100_000)
    assert len(str(caught.value)) < 500


@pytest.mark.parametrize(
    ("topic", "dlq"),
    [
        ("onex.evt.registration.node-registered.v1", "onex.dlq.registration.node-registered.v1"),
        ("onex.cmd.demo.score.v2", "onex.dlq.demo.score.v2"),
        ("onex.intent.demo.store_record.v7", "onex.dlq.demo.store_record.v7"),
        ("onex.dlq.demo.score.v2", "onex.dlq.demo.score.v2"),
    ],
)
def test_dlq_topic_keeps_producer_event_and_version(topic: str, dlq: str) -> None:
    """The DLQ topic of a topic swaps the kind for dlq; a DLQ topic is its own DLQ topic."""
    assert dlq_topic_for(topic) == dlq
    assert parse_topic(dlq).kind is EnumTopicKind.DLQ


def test_dlq_topic_of_an_invalid_topic_is_an_error() -> None:
    """Asking for the DLQ topic of a name outside the grammar raises the typed error."""
    with pytest.raises(ProtocolConfigurationError):
        dlq_topic_for("orders.created")


def test_build_topic_formats_and_validates() -> None:
    """build_topic joins validated parts and refuses parts the grammar does not allow."""
    assert build_topic(EnumTopicKind.CMD, "demo", "score") == "onex.cmd.demo.score.v1"
    assert build_topic(EnumTopicKind.EVT, "demo", "scored", 3) == "onex.evt.demo.scored.v3"
    with pytest.raises(ProtocolConfigurationError):
        build_topic(EnumTopicKind.EVT, "Demo", "scored")
    with pytest.raises(ProtocolConfigurationError):
        build_topic(EnumTopicKind.EVT, "demo", "a.b")
    with pytest.raises(ProtocolConfigurationError):
        build_topic(EnumTopicKind.EVT, "demo", "scored", 0)

"""``onex-infra tail``'s table line: the event's place, type, correlation and payload, and a
dead letter's reason read from its DLQ record header."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

from omnibase_infra.cli.cmd_tail import _line
from omnibase_infra.event_bus.dlq import ModelDlqRecord
from omnibase_infra.event_bus.headers import (
    HEADER_CORRELATION_ID,
    HEADER_DLQ_RECORD,
    HEADER_PAYLOAD_TYPE,
)
from omnibase_infra.ingress.model_stream_event import stream_event_of


def test_a_line_shows_place_type_correlation_and_payload() -> None:
    """An envelope's line: partition@offset, payload type, correlation id and the payload
    alone (not the envelope around it)."""
    correlation = str(uuid4())
    event = stream_event_of(
        "onex.evt.tests.line.v1",
        2,
        41,
        1_700_000_000.5,
        None,
        json.dumps({"payload": {"name": "Ada"}, "envelope_id": str(uuid4())}).encode(),
        {HEADER_PAYLOAD_TYPE: "ModelGreeted", HEADER_CORRELATION_ID: correlation},
    )
    line = _line(event)
    assert f"  2@41  ModelGreeted  {correlation}  " in line
    assert line.endswith('{"name":"Ada"}')


def test_a_dead_letter_line_ends_with_its_reason() -> None:
    """A message with a DLQ record header: its line ends with the record's error type and
    message; a value that is not JSON is shown as its text."""
    now = datetime.now(UTC)
    record = ModelDlqRecord(
        original_topic="onex.cmd.tests.line.v1",
        consumer_group="g",
        error_type="EnvelopeValidationError",
        error_message="no node routes payload type 'Greet'",
        first_failure_at=now,
        last_failure_at=now,
    )
    event = stream_event_of(
        "onex.dlq.tests.line.v1",
        0,
        0,
        None,
        None,
        b"not json",
        {HEADER_DLQ_RECORD: record.model_dump_json()},
    )
    line = _line(event)
    assert '"not json"' in line
    assert line.endswith(
        "dead-lettered: EnvelopeValidationError: no node routes payload type 'Greet'"
    )

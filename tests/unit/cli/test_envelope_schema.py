"""docs/envelope.schema.json is the envelope the runtime accepts: current, and it agrees with
the codec on what is valid."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import uuid4

import jsonschema
import pytest
from pydantic import BaseModel

from omnibase_infra.cli.cmd_schema import envelope_schema_document
from omnibase_infra.errors import EnvelopeValidationError
from omnibase_infra.event_bus.codec import decode_envelope, encode_envelope, new_envelope

DOC = Path(__file__).parents[3] / "docs" / "envelope.schema.json"


class _Greeting(BaseModel):
    text: str


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        json.loads(DOC.read_text(encoding="utf-8")),
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def test_envelope_schema_file_is_current() -> None:
    """The committed schema equals `onex-infra schema envelope` (regenerate it when core moves)."""
    committed = json.loads(DOC.read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(envelope_schema_document()))


def test_an_envelope_the_runtime_writes_is_valid_by_the_schema() -> None:
    """What the codec encodes validates against the exported schema."""
    envelope = new_envelope(_Greeting(text="hi"), correlation_id=uuid4(), producer="test")
    _validator().validate(json.loads(encode_envelope(envelope)))


@pytest.mark.parametrize(
    "broken",
    [
        {"correlation_id": "not-a-uuid", "payload": {}},
        {"envelope_id": str(uuid4())},
        {"payload": {}, "priority": "urgent"},
    ],
)
def test_schema_and_codec_refuse_the_same_broken_envelopes(broken: dict[str, object]) -> None:
    """An envelope the schema refuses is one the runtime refuses too."""
    assert list(_validator().iter_errors(broken))
    with pytest.raises(EnvelopeValidationError):
        decode_envelope(json.dumps(broken).encode())

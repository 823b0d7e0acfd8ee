"""Names of the message headers the buses write and read (all values are strings)."""

from __future__ import annotations

from typing import Final

__all__ = [
    "HEADER_ATTEMPT",
    "HEADER_CORRELATION_ID",
    "HEADER_DLQ_RECORD",
    "HEADER_ENVELOPE_ID",
    "HEADER_EVENT_TYPE",
    "HEADER_ORIGINAL_TOPIC",
    "HEADER_PAYLOAD_TYPE",
    "HEADER_REPLAY_COUNT",
    "HEADER_REPLAY_OF",
    "HEADER_RETRY_STATE",
]

HEADER_CORRELATION_ID: Final = "onex-correlation-id"
HEADER_ENVELOPE_ID: Final = "onex-envelope-id"
HEADER_PAYLOAD_TYPE: Final = "onex-payload-type"
HEADER_EVENT_TYPE: Final = "onex-event-type"
# Delivery attempt of a redelivered message (absent means the first attempt).
HEADER_ATTEMPT: Final = "onex-attempt"
# The topic a retried, dead-lettered or replayed message was first published to.
HEADER_ORIGINAL_TOPIC: Final = "onex-original-topic"
# JSON of ModelDlqRecord on a DLQ message; the value stays the original bytes.
HEADER_DLQ_RECORD: Final = "onex-dlq-record"
# Set on a message re-published from the DLQ: the DLQ record's id.
HEADER_REPLAY_OF: Final = "onex-replay-of"
# Set on a message re-published from the DLQ: which replay of that record it is (1, 2, ...).
HEADER_REPLAY_COUNT: Final = "onex-replay-count"
# JSON of the retry state (group, first failure, not-before, original position) on a retry.
HEADER_RETRY_STATE: Final = "onex-retry-state"

"""The retry topics a message climbs through: one per retry level, named after its topic.

Apart from the failure policy (the bus, the DLQ, metrics) because a Kafka runtime names its
retry groups' topics before anything heavy imports, to begin joining them
(``runtime.expected_groups``).
"""

from __future__ import annotations

import zlib

from omnibase_infra.event_bus.topics import build_topic, parse_topic

__all__ = ["retry_topic_for"]

# A topic name segment's longest length (``event_bus.topics``).
_MAX_SEGMENT = 64


def retry_topic_for(topic: str, level: int) -> str:
    """The retry topic of retry ``level`` (>= 2, see ``ModelRetrySettings.level_of``)."""
    parsed = parse_topic(topic)
    suffix = f"-retry{level}"
    event = parsed.event
    if len(event) + len(suffix) > _MAX_SEGMENT:
        # Keep names valid for long events: a prefix plus a checksum of the whole event.
        digest = f"{zlib.crc32(event.encode()):08x}"
        event = f"{event[: _MAX_SEGMENT - len(suffix) - len(digest) - 1]}-{digest}"
    return build_topic(parsed.kind, parsed.producer, f"{event}{suffix}", parsed.version)

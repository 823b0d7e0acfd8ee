"""Topic names: ``onex.<kind>.<producer>.<event>.v<N>``, parsed once and cached.

``kind`` is ``evt`` (facts), ``cmd`` (requests), ``intent`` (reducer outputs for effects) or
``dlq`` (dead letters). The DLQ topic of a topic keeps its producer, event and version.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

from omnibase_infra.enums import EnumTopicKind
from omnibase_infra.errors import ProtocolConfigurationError

__all__ = ["ModelTopic", "build_topic", "dlq_topic_for", "parse_topic"]

_SEGMENT = r"[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?"
_TOPIC = re.compile(
    rf"onex\.(?P<kind>evt|cmd|intent|dlq)\.(?P<producer>{_SEGMENT})\.(?P<event>{_SEGMENT})"
    r"\.v(?P<version>[1-9][0-9]{0,3})"
)


class ModelTopic(BaseModel):
    """A validated topic name split into its parts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: EnumTopicKind
    producer: str
    event: str
    version: int

    @property
    def name(self) -> str:
        """The topic's wire name."""
        return f"onex.{self.kind.value}.{self.producer}.{self.event}.v{self.version}"


@lru_cache(maxsize=4096)
def parse_topic(name: str) -> ModelTopic:
    """Parse and validate a topic name; raises ``ProtocolConfigurationError`` saying why not."""
    # fullmatch, not match with '$': '$' also matches before a trailing newline.
    match = _TOPIC.fullmatch(name)
    if match is None:
        raise ProtocolConfigurationError(
            f"topic {name[:200]!r} does not follow "
            "onex.<evt|cmd|intent|dlq>.<producer>.<event>.v<N> "
            "(lowercase letters, digits, '-' and '_' in each part)",
            field="topic",
        )
    return ModelTopic(
        kind=EnumTopicKind(match["kind"]),
        producer=match["producer"],
        event=match["event"],
        version=int(match["version"]),
    )


def build_topic(kind: EnumTopicKind, producer: str, event: str, version: int = 1) -> str:
    """Build a topic name from its parts, validating the result."""
    return parse_topic(f"onex.{kind.value}.{producer}.{event}.v{version}").name


@lru_cache(maxsize=4096)
def dlq_topic_for(topic: str) -> str:
    """The dead-letter topic of ``topic`` (a DLQ topic is its own DLQ topic)."""
    parsed = parse_topic(topic)
    return build_topic(EnumTopicKind.DLQ, parsed.producer, parsed.event, parsed.version)

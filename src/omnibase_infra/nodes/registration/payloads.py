"""The payload models of the registration topics that carry more than one shape.

Core's models and the published omnibase-infra package's share the introspection and heartbeat
topics; the orchestrator's contract names these unions as the topics' payloads
(``event_bus.subscribe_topic_metadata``), for the AsyncAPI document.
"""

from __future__ import annotations

from omnibase_infra._core import ModelNodeHealthEvent, ModelNodeIntrospectionEvent
from omnibase_infra.nodes.registration.models.model_node_heartbeat import ModelNodeHeartbeat
from omnibase_infra.nodes.registration.models.model_published_introspection import (
    ModelPublishedIntrospection,
)

__all__ = ["HeartbeatPayload", "IntrospectionPayload"]

type IntrospectionPayload = ModelNodeIntrospectionEvent | ModelPublishedIntrospection
type HeartbeatPayload = ModelNodeHeartbeat | ModelNodeHealthEvent

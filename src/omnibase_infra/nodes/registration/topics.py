"""The topics of the registration workflow (the platform's names)."""

from __future__ import annotations

from typing import Final

__all__ = [
    "TOPIC_NODE_ACCEPTED",
    "TOPIC_NODE_ACKED",
    "TOPIC_NODE_ACTIVE",
    "TOPIC_NODE_DEREGISTERED",
    "TOPIC_NODE_EXPIRED",
    "TOPIC_NODE_HEARTBEAT",
    "TOPIC_NODE_INTROSPECTION",
    "TOPIC_NODE_REJECTED",
    "TOPIC_NODE_SHUTDOWN",
    "TOPIC_NODE_STALE",
    "TOPIC_REQUEST_INTROSPECTION",
]

# What nodes send.
TOPIC_NODE_INTROSPECTION: Final = "onex.evt.platform.node-introspection.v1"
TOPIC_NODE_HEARTBEAT: Final = "onex.evt.platform.node-heartbeat.v1"
TOPIC_NODE_SHUTDOWN: Final = "onex.evt.platform.node-shutdown.v1"
TOPIC_NODE_ACKED: Final = "onex.cmd.platform.node-registration-acked.v1"
# What the registry answers and announces.
TOPIC_NODE_ACCEPTED: Final = "onex.evt.platform.node-registration-accepted.v1"
TOPIC_NODE_REJECTED: Final = "onex.evt.platform.node-registration-rejected.v1"
TOPIC_NODE_ACTIVE: Final = "onex.evt.platform.node-became-active.v1"
TOPIC_NODE_STALE: Final = "onex.evt.platform.node-became-stale.v1"
TOPIC_NODE_EXPIRED: Final = "onex.evt.platform.node-liveness-expired.v1"
TOPIC_NODE_DEREGISTERED: Final = "onex.evt.platform.node-deregistered.v1"
TOPIC_REQUEST_INTROSPECTION: Final = "onex.cmd.platform.request-introspection.v1"

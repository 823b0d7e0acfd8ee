"""Message dispatch: routes bus messages to nodes and publishes what they emit.

Names load on first access (PEP 562): the runtime config reads
``dispatch.model_retry_settings`` before a Kafka runtime's consumer groups begin joining, and
importing this package must not import the engine (core's envelope, tracing) on that path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from omnibase_infra.lazy_names import load_lazy_name

if TYPE_CHECKING:
    from omnibase_infra.dispatch.context import DispatchContext
    from omnibase_infra.dispatch.engine import MessageDispatchEngine
    from omnibase_infra.dispatch.failure_policy import DeadLetterPolicy, RetryFailurePolicy
    from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
    from omnibase_infra.dispatch.model_outgoing_message import ModelOutgoingMessage
    from omnibase_infra.dispatch.protocols import ProtocolFailurePolicy, ProtocolMessageHandler
    from omnibase_infra.dispatch.retry_consumer import RetryConsumer
    from omnibase_infra.dispatch.route import DispatchRoute, make_route

__all__ = [
    "DeadLetterPolicy",
    "DispatchContext",
    "DispatchRoute",
    "MessageDispatchEngine",
    "ModelNodeOutput",
    "ModelOutgoingMessage",
    "ProtocolFailurePolicy",
    "ProtocolMessageHandler",
    "RetryConsumer",
    "RetryFailurePolicy",
    "make_route",
]

_PACKAGE = "omnibase_infra.dispatch"
_WHERE = {
    "DeadLetterPolicy": "failure_policy",
    "DispatchContext": "context",
    "DispatchRoute": "route",
    "MessageDispatchEngine": "engine",
    "ModelNodeOutput": "model_node_output",
    "ModelOutgoingMessage": "model_outgoing_message",
    "ProtocolFailurePolicy": "protocols",
    "ProtocolMessageHandler": "protocols",
    "RetryConsumer": "retry_consumer",
    "RetryFailurePolicy": "failure_policy",
    "make_route": "route",
}


def __getattr__(name: str) -> object:
    """Import a dispatch name on first access and cache it on this package."""
    return load_lazy_name(__name__, name, _WHERE, globals(), package=_PACKAGE)


def __dir__() -> list[str]:
    """The public names (``__all__``), loaded or not."""
    return sorted(__all__)

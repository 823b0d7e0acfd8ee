"""Message dispatch: routes bus messages to nodes and publishes what they emit."""

from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.engine import MessageDispatchEngine, make_route
from omnibase_infra.dispatch.failure_policy import DeadLetterPolicy, RetryFailurePolicy
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.dispatch.model_outgoing_message import ModelOutgoingMessage
from omnibase_infra.dispatch.protocols import ProtocolFailurePolicy, ProtocolMessageHandler
from omnibase_infra.dispatch.retry_consumer import RetryConsumer
from omnibase_infra.dispatch.route import DispatchRoute

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

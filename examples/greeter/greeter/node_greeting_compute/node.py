"""The greeting compute's node class: declarative, everything is in contract.yaml."""

from omnibase_core.nodes import NodeCompute

from greeter.models import ModelGreet, ModelGreeting


class NodeGreetingCompute(NodeCompute[ModelGreet, ModelGreeting]):
    """Makes greeting texts (see contract.yaml): a ModelGreet in, a ModelGreeting out."""

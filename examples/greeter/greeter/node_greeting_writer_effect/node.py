"""The greeting writer's node class: declarative, everything is in contract.yaml."""

from omnibase_core.nodes import NodeEffect


class NodeGreetingWriterEffect(NodeEffect):
    """Writes greetings to a file (see contract.yaml)."""

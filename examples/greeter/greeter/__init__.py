"""greeter: a first package of ONEX nodes (the example of docs/writing-a-node.md)."""

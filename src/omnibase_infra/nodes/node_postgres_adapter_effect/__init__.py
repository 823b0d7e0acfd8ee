"""node_postgres_adapter_effect: named, parameterized PostgreSQL operations on ``cmd`` topics.

The operations (SQL text and parameter names) live in the node's contract only; a command
names operations and gives parameter values, never SQL. See ``contract.yaml`` and ``handler``.
"""

"""``NodeRegistrationOrchestrator``: the declarative node class; its behaviour is its contract.yaml.

The runtime executes the contract directly (see the package's modules); this class is what
core's tooling and container see, and it stays a thin subclass of core's archetype.
"""

from __future__ import annotations

from omnibase_infra._core import NodeOrchestrator

__all__ = ["NodeRegistrationOrchestrator"]


class NodeRegistrationOrchestrator(NodeOrchestrator):
    """node registration orchestrator: see contract.yaml."""

"""``NodeRegistrationReducer``: the declarative node class; its behaviour is its contract.yaml.

The runtime executes the contract directly (see the package's modules); this class is what
core's tooling and container see, and it stays a thin subclass of core's archetype.
"""

from __future__ import annotations

from omnibase_infra._core import NodeReducer
from omnibase_infra.nodes.registration.models.model_registration_intent import (
    ModelRegistrationIntent,
)
from omnibase_infra.nodes.registration.models.model_registration_record import (
    ModelRegistrationRecord,
)

__all__ = ["NodeRegistrationReducer"]


class NodeRegistrationReducer(NodeReducer[ModelRegistrationRecord, ModelRegistrationIntent]):
    """node registration reducer: see contract.yaml."""

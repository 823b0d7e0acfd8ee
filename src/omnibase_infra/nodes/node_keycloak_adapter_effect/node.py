"""``NodeKeycloakAdapterEffect``: the declarative node class; its behaviour is its contract.yaml."""

from __future__ import annotations

from omnibase_infra._core import NodeEffect

__all__ = ["NodeKeycloakAdapterEffect"]


class NodeKeycloakAdapterEffect(NodeEffect):
    """Keycloak/OIDC adapter effect: see contract.yaml."""

"""``NodeVaultAdapterEffect``: the declarative node class; its behaviour is its contract.yaml."""

from __future__ import annotations

from omnibase_infra._core import NodeEffect

__all__ = ["NodeVaultAdapterEffect"]


class NodeVaultAdapterEffect(NodeEffect):
    """Vault/OpenBao adapter effect: see contract.yaml."""

"""``NodeWebhookEffect``: the declarative node class; its behaviour is its contract.yaml."""

from __future__ import annotations

from omnibase_infra._core import NodeEffect

__all__ = ["NodeWebhookEffect"]


class NodeWebhookEffect(NodeEffect):
    """Webhook delivery effect: see contract.yaml."""

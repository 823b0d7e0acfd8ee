"""The adapter nodes as node plugins: each is available when its technology's handler is.

Published in the ``onex.node_plugins`` entry point group (one plugin per adapter node, so a
missing technology leaves out only its node). They take no settings of their own (their
behaviour is their contract's ``handler_config``) and add no service: each resolves the handler
the runtime already built from its config (``postgres``, ``vault``, ``discovery.kind: consul``,
``http_client``, ``keycloak``).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from omnibase_infra.runtime.plugins.model_node_plugin_build import ModelNodePluginBuild

__all__ = ["CONSUL", "KEYCLOAK", "POSTGRES", "VAULT", "WEBHOOK", "AdapterPlugin"]


class ModelAdapterPluginSettings(BaseModel):
    """No settings: an adapter node is configured by its contract."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class AdapterPlugin:
    """One adapter node, available when a service of the type ``needs`` names is there."""

    def __init__(self, name: str, node: str, needs: str, unavailable: str) -> None:
        self._name = name
        self._node = node
        self._needs = needs
        self._unavailable = unavailable

    @property
    def name(self) -> str:
        """Its key under ``nodes:`` (no settings are read from it)."""
        return self._name

    @property
    def settings_model(self) -> type[BaseModel]:
        """An empty model."""
        return ModelAdapterPluginSettings

    @property
    def nodes(self) -> tuple[str, ...]:
        """The adapter node."""
        return (self._node,)

    def build(
        self, settings: BaseModel, services: Mapping[type[object], object]
    ) -> ModelNodePluginBuild:
        """Nothing to add; unavailable without its technology's handler."""
        # By name (no import of the technology's client) and by instance: discovery is
        # registered under its protocol, whichever backend it is.
        names = {key.__name__ for key in services}
        names.update(type(service).__name__ for service in services.values())
        if self._needs in names:
            return ModelNodePluginBuild()
        return ModelNodePluginBuild(unavailable=self._unavailable)


POSTGRES = AdapterPlugin(
    "postgres_adapter",
    "node_postgres_adapter_effect",
    "HandlerPostgres",
    "postgres.mode is disabled",
)
VAULT = AdapterPlugin(
    "vault_adapter", "node_vault_adapter_effect", "HandlerVault", "vault is not configured"
)
# The in-process discovery serves the runtime's own registration; this node offers Consul.
CONSUL = AdapterPlugin(
    "consul_adapter", "node_consul_adapter_effect", "HandlerConsul", "discovery.kind is not consul"
)
WEBHOOK = AdapterPlugin(
    "webhook", "node_webhook_effect", "HandlerHttp", "http_client is not configured"
)
KEYCLOAK = AdapterPlugin(
    "keycloak_adapter",
    "node_keycloak_adapter_effect",
    "HandlerKeycloak",
    "keycloak is not configured",
)

"""``HandlerVaultAdapter``: one KV v2 action per command, through the runtime's ``HandlerVault``.

The contract (``handler_config``) declares the mount, the actions commands may ask for and the
path prefixes they may name; anything else is answered with ``ModelVaultKvFailed`` before any
request. ``HandlerVault`` authenticates (token or AppRole) and renews its token before it
expires; a rejected token is refreshed once by the runtime's executor (``credential_refresh``
is ``auto`` and the transport ``vault``: a new AppRole login, or the token read again) and the
action tried again. A failure the request caused (a check-and-set conflict, a refused
path) is the failure event; an infrastructure failure is raised for the contract's retry,
breaker and dead-letter policy (``nodes.adapters.failures``).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.handlers.vault.handler_vault import HandlerVault
from omnibase_infra.nodes.adapters.failures import (
    AdapterRequestError,
    failure_reason,
    is_request_failure,
)
from omnibase_infra.nodes.node_vault_adapter_effect.enum_vault_kv_action import (
    EnumVaultKvAction,
)
from omnibase_infra.nodes.node_vault_adapter_effect.model_vault_adapter_config import (
    ModelVaultAdapterConfig,
)
from omnibase_infra.nodes.node_vault_adapter_effect.model_vault_kv_command import (
    ModelVaultKvCommand,
)
from omnibase_infra.nodes.node_vault_adapter_effect.model_vault_kv_completed import (
    ModelVaultKvCompleted,
)
from omnibase_infra.nodes.node_vault_adapter_effect.model_vault_kv_failed import (
    ModelVaultKvFailed,
)

__all__ = ["HandlerVaultAdapter"]


class HandlerVaultAdapter:
    """The adapter's message handler (see module docstring)."""

    config_model: ClassVar[type[BaseModel]] = ModelVaultAdapterConfig

    def __init__(self, container: ModelONEXContainer, config: ModelVaultAdapterConfig) -> None:
        self._vault = container.get_service(HandlerVault)
        self._config = config

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        """Run the command's action; the outcome is the node's result event."""
        command = context.payload
        assert isinstance(command, ModelVaultKvCommand)  # the route's input model
        try:
            self._check(command)
            # A rejected token is the runtime's to refresh (credential_refresh: auto, transport
            # vault): the executor logs in again once and calls this again.
            result = await self._act(command)
        except Exception as error:
            if not is_request_failure(error):
                raise  # the infrastructure's: retried, then dead-lettered
            return ModelNodeOutput(
                result=ModelVaultKvFailed(
                    action=command.action,
                    path=command.path,
                    error_type=type(error).__name__,
                    reason=failure_reason(error),
                )
            )
        return ModelNodeOutput(result=result)

    def _check(self, command: ModelVaultKvCommand) -> None:
        if command.action not in self._config.actions:
            raise AdapterRequestError(f"action {command.action.value} is not allowed here")
        if not command.path.startswith(self._config.path_prefixes):
            raise AdapterRequestError("path is outside the prefixes this node may use")

    async def _act(self, command: ModelVaultKvCommand) -> ModelVaultKvCompleted:
        mount, path, action = self._config.mount, command.path, command.action
        if action is EnumVaultKvAction.READ:
            secret = await self._vault.kv_read(path, mount=mount, version=command.version)
            if secret is None:
                return ModelVaultKvCompleted(action=action, path=path, found=False)
            return ModelVaultKvCompleted(
                action=action, path=path, version=secret.version, data=secret.data
            )
        if action is EnumVaultKvAction.WRITE:
            assert command.data is not None  # the command's validator
            version = await self._vault.kv_write(path, command.data, mount=mount, cas=command.cas)
            return ModelVaultKvCompleted(action=action, path=path, version=version)
        if action is EnumVaultKvAction.LIST:
            keys = await self._vault.kv_list(path, mount=mount)
            return ModelVaultKvCompleted(action=action, path=path, keys=tuple(keys))
        await self._vault.kv_delete(path, mount=mount, all_versions=command.all_versions)
        return ModelVaultKvCompleted(action=action, path=path)

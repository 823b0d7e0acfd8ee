"""``HandlerConsulAdapter``: one discovery action per command, on the runtime's
``ProtocolServiceDiscovery`` (Consul, or the local backend of the local profile).

The contract (``handler_config``) declares the actions commands may ask for, the service name
prefixes and the KV key prefixes they may name; anything else is answered with
``ModelConsulFailed`` before any request. Queries take an optional blocking query (the index of
a previous answer and a wait), answered when something changed or the wait ran out; the
contract's timeout must exceed the longest wait. A failure the request caused is the failure
event; an infrastructure failure is raised for the contract's retry, breaker and dead-letter
policy (``nodes.adapters.failures``).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.handlers.discovery.model_kv_entry import ModelKvEntry
from omnibase_infra.handlers.discovery.protocol_service_discovery import ProtocolServiceDiscovery
from omnibase_infra.nodes.adapters.failures import (
    AdapterRequestError,
    failure_reason,
    is_request_failure,
)
from omnibase_infra.nodes.node_consul_adapter_effect.enum_consul_action import EnumConsulAction
from omnibase_infra.nodes.node_consul_adapter_effect.model_consul_adapter_config import (
    ModelConsulAdapterConfig,
)
from omnibase_infra.nodes.node_consul_adapter_effect.model_consul_command import (
    ModelConsulCommand,
)
from omnibase_infra.nodes.node_consul_adapter_effect.model_consul_completed import (
    ModelConsulCompleted,
)
from omnibase_infra.nodes.node_consul_adapter_effect.model_consul_failed import ModelConsulFailed
from omnibase_infra.nodes.node_consul_adapter_effect.model_consul_kv_entry import (
    ModelConsulKvEntry,
)

__all__ = ["HandlerConsulAdapter"]

_A = EnumConsulAction


class HandlerConsulAdapter:
    """The adapter's message handler (see module docstring)."""

    config_model: ClassVar[type[BaseModel]] = ModelConsulAdapterConfig

    def __init__(self, container: ModelONEXContainer, config: ModelConsulAdapterConfig) -> None:
        self._discovery: ProtocolServiceDiscovery = container.get_service(
            ProtocolServiceDiscovery  # type: ignore[type-abstract]
        )
        self._config = config

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        """Run the command's action; the outcome is the node's result event."""
        command = context.payload
        assert isinstance(command, ModelConsulCommand)  # the route's input model
        try:
            self._check(command)
            result = await self._act(command)
        except Exception as error:
            if not is_request_failure(error):
                raise  # the infrastructure's: retried, then dead-lettered
            return ModelNodeOutput(
                result=ModelConsulFailed(
                    action=command.action,
                    error_type=type(error).__name__,
                    reason=failure_reason(error),
                )
            )
        return ModelNodeOutput(result=result)

    def _check(self, command: ModelConsulCommand) -> None:
        config = self._config
        if command.action not in config.actions:
            raise AdapterRequestError(f"action {command.action.value} is not allowed here")
        service = command.service
        if service is not None and not service.startswith(config.service_name_prefixes):
            raise AdapterRequestError("service name is outside the prefixes this node may use")
        if command.key is not None and not command.key.startswith(config.key_prefixes):
            raise AdapterRequestError("key is outside the prefixes this node may use")

    async def _act(self, command: ModelConsulCommand) -> ModelConsulCompleted:
        action, discovery, blocking = command.action, self._discovery, command.blocking
        if action is _A.REGISTER:
            assert command.registration is not None  # the command's validator, as below
            await discovery.register_service(command.registration)
            return ModelConsulCompleted(action=action, changed=True)
        if action is _A.DEREGISTER:
            assert command.service_id is not None
            changed = await discovery.deregister_service(command.service_id)
            return ModelConsulCompleted(action=action, changed=changed)
        if action is _A.UPDATE_CHECK:
            assert command.check_id is not None
            assert command.check_status is not None
            changed = await discovery.update_ttl_check(
                command.check_id, command.check_status, command.note or ""
            )
            return ModelConsulCompleted(action=action, changed=changed)
        if action in (_A.HEALTHY_INSTANCES, _A.LIST_INSTANCES):
            assert command.service_name is not None
            found = (
                await discovery.healthy_instances(
                    command.service_name, tag=command.tag, blocking=blocking
                )
                if action is _A.HEALTHY_INSTANCES
                else await discovery.list_instances(command.service_name, blocking=blocking)
            )
            return ModelConsulCompleted(action=action, instances=found.instances, index=found.index)
        if action is _A.LIST_SERVICES:
            catalog = await discovery.list_services(blocking=blocking)
            services = {
                name: tags
                for name, tags in catalog.services.items()
                if name.startswith(self._config.service_name_prefixes)
            }
            return ModelConsulCompleted(action=action, services=services, index=catalog.index)
        return await self._kv(command)

    async def _kv(self, command: ModelConsulCommand) -> ModelConsulCompleted:
        action, discovery, key = command.action, self._discovery, command.key
        assert key is not None  # every KV action needs one (the command's validator)
        if action is _A.KV_GET:
            read = await discovery.kv_get(key, blocking=command.blocking)
            entries = () if read.entry is None else (_entry(read.entry),)
            return ModelConsulCompleted(action=action, entries=entries, index=read.index)
        if action is _A.KV_LIST:
            listed = await discovery.kv_list(key)
            return ModelConsulCompleted(action=action, entries=tuple(map(_entry, listed)))
        if action is _A.KV_PUT:
            assert command.value is not None
            changed = await discovery.kv_put(key, command.value.encode(), cas=command.cas)
            return ModelConsulCompleted(action=action, changed=changed)
        changed = await discovery.kv_delete(key, cas=command.cas)
        return ModelConsulCompleted(action=action, changed=changed)


def _entry(entry: ModelKvEntry) -> ModelConsulKvEntry:
    return ModelConsulKvEntry(
        key=entry.key,
        value=entry.value.decode(errors="replace"),
        flags=entry.flags,
        modify_index=entry.modify_index,
    )

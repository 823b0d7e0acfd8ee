"""``HandlerWebhook``: one signed delivery per command, through the runtime's ``HandlerHttp``.

The body is ``{"type", "data"}`` signed with Standard Webhooks headers (``HandlerHttp``'s
``webhook_secret``); the ``webhook-id`` is derived from the command's envelope id, so every
retry and redelivery of one command carries the same id and a receiver can drop duplicates.
Each endpoint has its own circuit breaker (``handler_config.circuit_breaker``): an endpoint that
keeps failing is refused at once (retried, then dead-lettered) without touching the others.
An unknown endpoint or a final 4xx is the failure event; anything else is raised for the
contract's retry and dead-letter policy (``nodes.adapters.failures``).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, JsonValue

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import RuntimeHostError
from omnibase_infra.handlers.http.handler_http import HandlerHttp
from omnibase_infra.nodes.adapters.failures import (
    AdapterRequestError,
    failure_reason,
    is_request_failure,
)
from omnibase_infra.nodes.node_webhook_effect.model_webhook_adapter_config import (
    ModelWebhookAdapterConfig,
)
from omnibase_infra.nodes.node_webhook_effect.model_webhook_deliver import ModelWebhookDeliver
from omnibase_infra.nodes.node_webhook_effect.model_webhook_delivered import (
    ModelWebhookDelivered,
)
from omnibase_infra.nodes.node_webhook_effect.model_webhook_failed import ModelWebhookFailed
from omnibase_infra.resilience.breaker.breaker import AsyncCircuitBreaker
from omnibase_infra.resilience.breaker.registry import CircuitBreakerRegistry

__all__ = ["HandlerWebhook"]

_NODE = "node_webhook_effect"


class HandlerWebhook:
    """The node's message handler (see module docstring)."""

    config_model: ClassVar[type[BaseModel]] = ModelWebhookAdapterConfig

    def __init__(self, container: ModelONEXContainer, config: ModelWebhookAdapterConfig) -> None:
        self._http = container.get_service(HandlerHttp)
        self._config = config
        self._breakers = {
            name: AsyncCircuitBreaker.from_subcontract(
                config.circuit_breaker,
                f"webhook:{name}",
                EnumInfraTransportType.HTTP,
                operation="deliver_webhook",
                node=_NODE,
            )
            for name in config.endpoints
        }
        registry = container.get_service_optional(CircuitBreakerRegistry)
        if isinstance(registry, CircuitBreakerRegistry):  # the health monitor reads them
            for breaker in self._breakers.values():
                registry.register(_NODE, breaker)

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        """Deliver the command's event; the outcome is the node's result event."""
        command = context.payload
        assert isinstance(command, ModelWebhookDeliver)  # the route's input model
        message_id = f"msg_{context.envelope.envelope_id.hex}"
        try:
            endpoint = self._config.endpoints.get(command.endpoint)
            if endpoint is None:
                raise AdapterRequestError(f"unknown endpoint {command.endpoint[:100]!r}")
            body: JsonValue = {"type": command.event_type, "data": command.data}
            delivery = await self._breakers[command.endpoint].call(
                self._http.deliver_webhook, endpoint.url, body, message_id=message_id
            )
        except Exception as error:
            if not is_request_failure(error):
                raise  # the infrastructure's or the receiver's for now: retried, dead-lettered
            return ModelNodeOutput(
                result=ModelWebhookFailed(
                    endpoint=command.endpoint[:100],
                    message_id=message_id,
                    error_type=type(error).__name__,
                    reason=failure_reason(error),
                    status_code=error.status_code if isinstance(error, RuntimeHostError) else None,
                )
            )
        return ModelNodeOutput(
            result=ModelWebhookDelivered(
                endpoint=command.endpoint,
                message_id=delivery.message_id,
                status_code=delivery.status_code,
            )
        )

"""The webhook node's ``handler_config``: its endpoints and their circuit breaker."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnibase_infra._core import ModelCircuitBreakerSubcontract
from omnibase_infra.nodes.node_webhook_effect.model_webhook_endpoint import ModelWebhookEndpoint

__all__ = ["ModelWebhookAdapterConfig"]


class ModelWebhookAdapterConfig(BaseModel):
    """Endpoints by name; each gets its own breaker built from ``circuit_breaker`` (core's
    subcontract), so one failing receiver never stops deliveries to the others."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoints: dict[str, ModelWebhookEndpoint] = Field(min_length=1)
    circuit_breaker: ModelCircuitBreakerSubcontract

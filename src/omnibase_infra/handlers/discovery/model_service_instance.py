"""One registered instance of a service, as discovery reports it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelServiceInstance"]


class ModelServiceInstance(BaseModel):
    """Where to reach one instance.

    ``address`` falls back to its node's address when the registration gave none; ``port`` is 0
    when it gave none (Consul's convention).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    service_id: str
    service_name: str
    node: str
    address: str
    port: int = Field(default=0, ge=0, le=65535)
    tags: tuple[str, ...] = ()
    meta: dict[str, str] = Field(default_factory=dict)

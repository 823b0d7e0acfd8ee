"""Who a subscriber is: the identity its consumer group is derived from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelNodeIdentity"]


class ModelNodeIdentity(BaseModel):
    """A node's identity (satisfies core's ``ProtocolNodeIdentity``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    env: str = Field(default="local", min_length=1)
    service: str = Field(default="omnibase-infra", min_length=1)
    node_name: str = Field(min_length=1)
    version: str = Field(default="v1", min_length=1)

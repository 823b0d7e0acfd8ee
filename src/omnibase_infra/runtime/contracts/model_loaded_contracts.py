"""The contracts the host loaded, as a service in the container."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from omnibase_infra.runtime.contracts.model_node_contract import ModelNodeContract

__all__ = ["ModelLoadedContracts"]


class ModelLoadedContracts(BaseModel):
    """Every contract of this start; a node reads its own and its peers' declarations here."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contracts: tuple[ModelNodeContract, ...] = ()

"""What the declarative machinery reads of a loaded contract (``ModelNodeContract``)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from omnibase_infra._core import EnumNodeKind, ModelContractBase
from omnibase_infra.declarative.model_fsm_binding import ModelFsmBinding

__all__ = ["ProtocolDeclaredNode"]


class ProtocolDeclaredNode(Protocol):
    """A node contract as the runtime loaded it."""

    @property
    def path(self) -> Path: ...

    @property
    def name(self) -> str: ...

    @property
    def archetype(self) -> EnumNodeKind: ...

    @property
    def subscribe_topics(self) -> tuple[str, ...]: ...

    @property
    def publish_topics(self) -> tuple[str, ...]: ...

    @property
    def definition(self) -> ModelContractBase: ...

    @property
    def fsm_binding(self) -> ModelFsmBinding | None: ...

    @property
    def routes(self) -> tuple[object, ...]: ...

"""A node a workflow step calls: its handler (guarded for effects) and its input model."""

from __future__ import annotations

from typing import NamedTuple

from pydantic import BaseModel

from omnibase_infra._core import EnumNodeKind
from omnibase_infra.dispatch.protocols import ProtocolMessageHandler

__all__ = ["WorkflowStep"]


class WorkflowStep(NamedTuple):
    """A COMPUTE (pure, in-process) or EFFECT (under its executor) node callable as a step."""

    node_name: str
    archetype: EnumNodeKind
    handler: ProtocolMessageHandler
    input_model: type[BaseModel] | None

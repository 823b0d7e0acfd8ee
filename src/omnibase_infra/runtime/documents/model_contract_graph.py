"""A contract's FSM or workflow as nodes and edges, for drawings that lay it out themselves."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["EnumGraphNodeKind", "ModelContractGraph", "ModelGraphEdge", "ModelGraphNode"]

EnumGraphNodeKind = Literal[
    "start",  # the FSM's entry point
    "state",
    "terminal",
    "terminal_like",
    "error",
    "any_state",  # core's wildcard from_state
    "orchestrator",
    "step",
    "topic_in",
    "topic_out",
]


class ModelGraphNode(BaseModel):
    """One state, step or topic; ``id`` is unique within its graph."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    label: str
    kind: EnumGraphNodeKind


class ModelGraphEdge(BaseModel):
    """One arrow; the triggers of one pair of states share one edge (labels joined)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    target: str
    label: str = ""


class ModelContractGraph(BaseModel):
    """A reducer's FSM (``fsm``) or an orchestrator's workflow (``workflow``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    node_name: str
    kind: Literal["fsm", "workflow"]
    title: str
    nodes: tuple[ModelGraphNode, ...]
    edges: tuple[ModelGraphEdge, ...]

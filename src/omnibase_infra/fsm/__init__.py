"""Reducers' FSMs: core's FSM subcontract compiled to a lookup table."""

from omnibase_infra.fsm.compiled_fsm import CompiledFSM, FsmStep

__all__ = ["CompiledFSM", "FsmStep"]

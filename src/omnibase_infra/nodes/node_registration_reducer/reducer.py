"""The registration reducer: ``(record, trigger) -> (new record, intent, announcements)``.

Pure: no clock (the caller passes ``at``), no I/O, no bus. The state machine is the contract's
``state_machine`` section, compiled (``CompiledFSM``). The transition's actions say what else
changes: ``register`` builds the record from the introspection, ``touch`` moves the last
heartbeat, ``remember_ack`` notes an ack that arrived before the registration finished; the
strongest of ``register``/``deregister``/``record_state``/``touch`` becomes the one intent the
registry effect applies, and ``announce_*`` actions name the events the orchestrator publishes.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from omnibase_infra.fsm.compiled_fsm import CompiledFSM, FsmStep
from omnibase_infra.nodes.registration.models.enum_backend_status import EnumBackendStatus
from omnibase_infra.nodes.registration.models.enum_registration_intent_kind import (
    EnumRegistrationIntentKind,
)
from omnibase_infra.nodes.registration.models.enum_registration_state import (
    EnumRegistrationState,
)
from omnibase_infra.nodes.registration.models.enum_registration_trigger import (
    EnumRegistrationTrigger,
)
from omnibase_infra.nodes.registration.models.model_registration_intent import (
    ModelRegistrationIntent,
)
from omnibase_infra.nodes.registration.models.model_registration_record import (
    ModelRegistrationRecord,
)
from omnibase_infra.nodes.registration.models.model_registration_request import (
    ModelRegistrationRequest,
)

__all__ = ["ModelReduction", "RegistrationReducer"]

# Which action's intent wins when a transition carries several (one write per transition).
_INTENT_OF_ACTION: dict[str, EnumRegistrationIntentKind] = {
    "register": EnumRegistrationIntentKind.REGISTER,
    "deregister": EnumRegistrationIntentKind.DEREGISTER,
    "record_state": EnumRegistrationIntentKind.RECORD_STATE,
    "remember_ack": EnumRegistrationIntentKind.RECORD_STATE,
    "touch": EnumRegistrationIntentKind.HEARTBEAT,
}
_STRENGTH = {
    EnumRegistrationIntentKind.REGISTER: 3,
    EnumRegistrationIntentKind.DEREGISTER: 2,
    EnumRegistrationIntentKind.RECORD_STATE: 1,
    EnumRegistrationIntentKind.HEARTBEAT: 0,
}
_ANNOUNCE = "announce_"


class ModelReduction(NamedTuple):
    """One reduction: the step taken, the new record, the intent and what to announce."""

    step: FsmStep
    record: ModelRegistrationRecord | None
    intent: ModelRegistrationIntent | None
    announcements: tuple[str, ...]


class RegistrationReducer:
    """Applies the registration FSM to records."""

    def __init__(self, fsm: CompiledFSM) -> None:
        self._fsm = fsm

    @property
    def fsm(self) -> CompiledFSM:
        """The compiled state machine."""
        return self._fsm

    def reduce(
        self,
        record: ModelRegistrationRecord | None,
        trigger: EnumRegistrationTrigger,
        *,
        at: datetime,
        cause_id: UUID,
        request: ModelRegistrationRequest | None = None,
        node_id: UUID | None = None,
    ) -> ModelReduction:
        """Reduce one trigger; ``cause_id`` (the causing envelope) keys the transition."""
        state = record.state if record is not None else EnumRegistrationState.UNREGISTERED
        step = self._fsm.step(state.value, trigger.value, {"acked": bool(record and record.acked)})
        if not step.success:
            return ModelReduction(step, record, None, ())
        updates: dict[str, object] = {
            "state": EnumRegistrationState(step.new_state),
            "updated_at": at,
        }
        kind: EnumRegistrationIntentKind | None = None
        announcements: list[str] = []
        base = record
        for action in step.actions:
            if action.startswith(_ANNOUNCE):
                announcements.append(action.removeprefix(_ANNOUNCE))
                continue
            if action == "register":
                base = _new_record(request, at)
            elif action == "touch":
                updates["last_heartbeat_at"] = at
            elif action == "remember_ack":
                updates["acked"] = True
            action_kind = _INTENT_OF_ACTION.get(action)
            if action_kind is not None and (
                kind is None or _STRENGTH[action_kind] > _STRENGTH[kind]
            ):
                kind = action_kind
        if base is None:
            raise ValueError(f"transition {step.transition_name} needs an existing registration")
        expected = record.version if record is not None else 0
        if kind is not None:
            updates["version"] = expected + 1
        new = base.model_copy(update=updates)
        intent = (
            None
            if kind is None
            else ModelRegistrationIntent(
                kind=kind,
                record=new,
                expected_version=expected,
                transition=step.transition_name or "",
                from_state=state.value,
                transition_id=f"{cause_id}:{step.transition_name}",
            )
        )
        return ModelReduction(step, new, intent, tuple(announcements))


def _new_record(request: ModelRegistrationRequest | None, at: datetime) -> ModelRegistrationRecord:
    """The record an introspection registers (a re-registration replaces the old one)."""
    if request is None:
        raise ValueError("a registration needs the node's introspection")
    return ModelRegistrationRecord(
        node_id=request.node_id,
        node_name=request.node_name,
        node_type=request.node_type,
        node_version=request.node_version,
        state=EnumRegistrationState.PENDING,
        capabilities=request.capabilities,
        endpoints=request.endpoints,
        health_endpoint=request.health_endpoint,
        acked=False,
        registered_at=at,
        last_heartbeat_at=at,
        updated_at=at,
        storage_status=EnumBackendStatus.UNKNOWN,
        discovery_status=EnumBackendStatus.UNKNOWN,
    )

"""A REDUCER run by its FSM subcontract alone: state per entity, intents for actions.

Per message: the entity is the payload field ``fsm_binding.entity_key`` names (else the
message's key), the trigger the field ``fsm_binding.trigger`` names (else the payload type);
the entity's state (initial when unknown) steps through the compiled FSM with the payload as
the guards' context, the new state is kept, and each action of the taken transition becomes a
``ModelFsmIntent`` on the topic ``fsm_binding.intents`` maps it to, keyed by the entity.

State lives in memory, bounded: the ``max_entities`` most recently used entities are kept and
the least recently used is forgotten (it starts again from the initial state). Nothing is
persisted, so a restarted runtime starts every entity afresh. Messages about one entity come in
order (the bus orders by key), and a step reads and writes the state without awaiting, so
concurrent messages about different entities cannot interleave inside it.
"""

from __future__ import annotations

from collections import OrderedDict

from pydantic import JsonValue

from omnibase_infra.declarative.model_fsm_binding import ModelFsmBinding
from omnibase_infra.declarative.model_fsm_intent import ModelFsmIntent
from omnibase_infra.declarative.payload import as_json, field_value
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.dispatch.model_outgoing_message import ModelOutgoingMessage
from omnibase_infra.errors import EnvelopeValidationError
from omnibase_infra.fsm.compiled_fsm import CompiledFSM, FsmStep
from omnibase_infra.observability.logging import get_logger

__all__ = ["HandlerDeclarativeReducer"]

_log = get_logger(__name__)


class HandlerDeclarativeReducer:
    """The message handler of a YAML-only reducer (see module doc)."""

    def __init__(self, node_name: str, fsm: CompiledFSM, binding: ModelFsmBinding) -> None:
        self._node_name = node_name
        self._fsm = fsm
        self._binding = binding
        self._states: OrderedDict[str, str] = OrderedDict()

    def state_of(self, entity_key: str) -> str:
        """The entity's current state (the initial state when it is not known)."""
        return self._states.get(entity_key, self._fsm.initial_state)

    async def handle(self, context: DispatchContext) -> ModelNodeOutput | None:
        """Step the entity's FSM on the message; the actions of the transition as intents."""
        data = as_json(context.payload)
        key = self._entity_key(context, data)
        trigger = self._trigger(context, data)
        state = self._states.get(key, self._fsm.initial_state)
        step = self._fsm.step(state, trigger, data if isinstance(data, dict) else {})
        if not step.success:
            self._unmatched(key, trigger, step)
            return None
        self._remember(key, step.new_state)
        intents = tuple(
            ModelOutgoingMessage(
                topic=self._binding.intents[action],
                payload=ModelFsmIntent(
                    state_machine=self._fsm.name,
                    entity_key=key,
                    action=action,
                    transition=step.transition_name or "",
                    trigger=trigger,
                    from_state=step.old_state,
                    to_state=step.new_state,
                    data=data,
                ),
                key=key,
            )
            for action in step.actions
        )
        return ModelNodeOutput(intents=intents) if intents else None

    def _remember(self, key: str, state: str) -> None:
        self._states[key] = state
        self._states.move_to_end(key)
        if len(self._states) > self._binding.max_entities:
            self._states.popitem(last=False)

    def _unmatched(self, key: str, trigger: str, step: FsmStep) -> None:
        reason = (
            f"no transition from {step.old_state!r} on {trigger!r}"
            if step.failure == "no_transition"
            else f"guards of {step.transition_name!r} failed: {', '.join(step.failed_conditions)}"
        )
        if self._binding.unmatched == "dead_letter":
            raise EnvelopeValidationError(f"{self._node_name}: {reason} (entity {key})")
        _log.info("message left the state unchanged", node=self._node_name, reason=reason)

    def _entity_key(self, context: DispatchContext, data: JsonValue) -> str:
        field = self._binding.entity_key
        if field is not None:
            value = field_value(data, field)
            if value is None:
                raise EnvelopeValidationError(
                    f"{self._node_name}: payload has no {field!r} (the entity key)"
                )
            return str(value)
        raw = context.message.key
        if raw is None:
            raise EnvelopeValidationError(
                f"{self._node_name}: message has no key and fsm_binding names no entity_key"
            )
        return raw.decode(errors="replace")

    def _trigger(self, context: DispatchContext, data: JsonValue) -> str:
        field = self._binding.trigger
        if field is None:
            return context.envelope.payload_type or ""
        value = field_value(data, field)
        if value is None:
            raise EnvelopeValidationError(
                f"{self._node_name}: payload has no {field!r} (the trigger)"
            )
        return str(value)

"""A REDUCER declared by its FSM subcontract alone, run through the dispatch engine: state per
entity, triggers, guards with core's semantics, intents as declared, bounded memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from declarative_unit_support import Harness, V, contract, payloads

from omnibase_infra.declarative import declarative_routes
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.event_bus.inmemory import EventBusInmemory

EVT = "onex.evt.lamp.switched.v1"
INTENT_ON = "onex.intent.lamp.power-on.v1"
INTENT_ALARM = "onex.intent.lamp.alarm.v1"


def _reducer(binding: str = "", actions: str = "[power_on]") -> str:
    return f"""
name: node_lamp_reducer
node_type: REDUCER_GENERIC
contract_version: {V}
description: A lamp per room.
input_model: omnibase_infra.x.ModelIn
output_model: omnibase_infra.x.ModelOut
event_bus:
  version: {V}
  subscribe_topics: [{EVT}]
  publish_topics: [{INTENT_ON}, {INTENT_ALARM}]
fsm_binding:
  intents: {{power_on: {INTENT_ON}, alarm: {INTENT_ALARM}}}
{binding}
state_machine:
  version: {V}
  state_machine_name: lamp
  state_machine_version: {V}
  description: Off and on.
  initial_state: "off"
  states:
    - {{version: {V}, state_name: "off", state_type: initial, description: Dark.}}
    - version: {V}
      state_name: "on"
      state_type: operational
      description: Lit.
      entry_actions: {actions}
  transitions:
    - version: {V}
      transition_name: switch_on
      from_state: "off"
      trigger: ModelSwitchOn
      to_state: "on"
      conditions:
        - version: {V}
          condition_name: has_power
          condition_type: expression
          expression: "watts > 0"
    - version: {V}
      transition_name: switch_off
      from_state: "on"
      trigger: ModelSwitchOff
      to_state: "off"
      actions:
        - {{version: {V}, action_name: alarm, action_type: intent}}
"""


@pytest.fixture
async def bus() -> AsyncIterator[EventBusInmemory]:
    instance = EventBusInmemory(partitions=2)
    await instance.start()
    yield instance
    await instance.close()


async def _harness(bus: EventBusInmemory, tmp_path: Path, binding: str = "") -> Harness:
    node = contract(tmp_path, _reducer(binding))
    harness = Harness(bus, declarative_routes(node, {}, None))
    await harness.engine.start()
    return harness


async def test_each_entity_has_its_own_state_and_actions_become_intents(
    bus: EventBusInmemory, tmp_path: Path
) -> None:
    """Two rooms (message keys) step independently: switching on lights one room, the entry
    action is an intent keyed by the room naming the transition; a second switch-on of the
    same room has no transition from on (ignored)."""
    harness = await _harness(bus, tmp_path)
    on = await harness.watch(INTENT_ON)
    await harness.send(EVT, {"watts": 60}, "kitchen", "ModelSwitchOn")
    await harness.send(EVT, {"watts": 60}, "kitchen", "ModelSwitchOn")
    await harness.send(EVT, {"watts": 40}, "hall", "ModelSwitchOn")
    await harness.settle()
    assert sorted((m.key or b"").decode() for m in on) == ["hall", "kitchen"]
    kitchen = [p for p in payloads(on) if p["entity_key"] == "kitchen"]
    assert kitchen == [
        {
            "state_machine": "lamp",
            "entity_key": "kitchen",
            "action": "power_on",
            "transition": "switch_on",
            "trigger": "ModelSwitchOn",
            "from_state": "off",
            "to_state": "on",
            "data": {"watts": 60},
        }
    ]
    await harness.engine.stop()


async def test_a_failed_guard_keeps_the_state_and_emits_nothing(
    bus: EventBusInmemory, tmp_path: Path
) -> None:
    """``watts > 0`` fails for 0 watts: no intent, and the room is still off (a later valid
    switch-on lights it, then switch-off emits the transition's own action)."""
    harness = await _harness(bus, tmp_path)
    on, alarm = await harness.watch(INTENT_ON), await harness.watch(INTENT_ALARM)
    await harness.send(EVT, {"watts": 0}, "attic", "ModelSwitchOn")
    await harness.settle()
    assert on == []
    await harness.send(EVT, {"watts": 5}, "attic", "ModelSwitchOn")
    await harness.send(EVT, {}, "attic", "ModelSwitchOff")
    await harness.settle()
    assert [p["from_state"] for p in payloads(on)] == ["off"]
    assert [(p["transition"], p["to_state"]) for p in payloads(alarm)] == [("switch_off", "off")]
    await harness.engine.stop()


async def test_entity_key_and_trigger_from_declared_payload_fields(
    bus: EventBusInmemory, tmp_path: Path
) -> None:
    """With ``entity_key: room.name`` and ``trigger: kind`` the message key and the payload
    type do not matter: the nested field names the entity and the field the trigger."""
    harness = await _harness(bus, tmp_path, "  entity_key: room.name\n  trigger: kind")
    on = await harness.watch(INTENT_ON)
    body = {"room": {"name": "cellar"}, "kind": "ModelSwitchOn", "watts": 9}
    await harness.send(EVT, body, None, "AnyShape")
    await harness.settle()
    assert [(p["entity_key"], p["trigger"]) for p in payloads(on)] == [("cellar", "ModelSwitchOn")]
    await harness.engine.stop()


async def test_unmatched_dead_letter_fails_the_message(
    bus: EventBusInmemory, tmp_path: Path
) -> None:
    """``unmatched: dead_letter``: a trigger with no transition from the state is dead-lettered
    instead of ignored."""
    harness = await _harness(bus, tmp_path, "  unmatched: dead_letter")
    dead = await harness.watch_dlq(EVT)
    await harness.send(EVT, {}, "porch", "ModelSwitchOff")
    await harness.settle()
    assert len(dead) == 1
    await harness.engine.stop()


async def test_state_is_bounded_and_the_least_recently_used_entity_is_forgotten(
    bus: EventBusInmemory, tmp_path: Path
) -> None:
    """``max_entities: 1``: lighting a second room forgets the first, whose next switch-on
    starts again from off (and is emitted again)."""
    harness = await _harness(bus, tmp_path, "  max_entities: 1")
    on = await harness.watch(INTENT_ON)
    for room in ("a", "b", "a"):
        await harness.send(EVT, {"watts": 1}, room, "ModelSwitchOn")
        await harness.settle()
    assert [p["entity_key"] for p in payloads(on)] == ["a", "b", "a"]
    await harness.engine.stop()


def test_an_action_without_intent_topic_is_refused_naming_file_and_field(
    tmp_path: Path,
) -> None:
    """An entry action not mapped in fsm_binding.intents: refused at build with the file, the
    field and the action."""
    node = contract(tmp_path, _reducer(actions="[power_on, blink]"))
    with pytest.raises(ProtocolConfigurationError) as caught:
        declarative_routes(node, {}, None)
    assert caught.value.file == str(node.path)
    assert caught.value.field == "fsm_binding.intents"
    assert "'blink'" in caught.value.reason


def test_an_intent_topic_outside_publish_topics_is_refused(tmp_path: Path) -> None:
    """An intent mapped to a topic the contract does not publish is refused, naming it."""
    text = _reducer().replace(f"alarm: {INTENT_ALARM}}}", "alarm: onex.intent.lamp.other.v1}")
    node = contract(tmp_path, text)
    with pytest.raises(ProtocolConfigurationError) as caught:
        declarative_routes(node, {}, None)
    assert caught.value.field == "fsm_binding.intents.alarm"
    assert "onex.intent.lamp.other.v1" in caught.value.reason


def test_fsm_binding_is_validated_and_reducer_only(tmp_path: Path) -> None:
    """A bad fsm_binding field is named by its path; the section on a non-reducer is refused."""
    with pytest.raises(ProtocolConfigurationError) as caught:
        contract(tmp_path, _reducer("  max_entities: 0"))
    assert caught.value.field == "fsm_binding.max_entities"
    orchestrator = _reducer().replace("REDUCER_GENERIC", "ORCHESTRATOR_GENERIC")
    with pytest.raises(ProtocolConfigurationError, match="only REDUCER contracts take"):
        contract(tmp_path, orchestrator, "other")

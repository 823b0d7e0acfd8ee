"""The registration reducer: its contract's FSM turned into records, intents and announcements.

The reducer is pure (the caller passes the time and the causing envelope's id), so every test
here runs it directly on records and checks the one intent it emits (kind, record, expected
version, transition id) and what it asks the orchestrator to announce.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

import omnibase_infra.nodes.node_registration_reducer as reducer_package
from omnibase_infra._core import ModelContractReducer
from omnibase_infra.fsm.compiled_fsm import CompiledFSM
from omnibase_infra.nodes.node_registration_reducer.reducer import (
    ModelReduction,
    RegistrationReducer,
)
from omnibase_infra.nodes.registration.models import (
    EnumBackendStatus,
    EnumRegistrationIntentKind,
    EnumRegistrationState,
    EnumRegistrationTrigger,
    ModelRegistrationRecord,
    ModelRegistrationRequest,
)
from omnibase_infra.runtime.contracts.contract_loader import load_contract
from omnibase_infra.runtime.contracts.plugin_loader import DEFAULT_ALLOWLIST

T = EnumRegistrationTrigger
S = EnumRegistrationState
K = EnumRegistrationIntentKind
_T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def reducer() -> RegistrationReducer:
    """The reducer on the contract's FSM, loaded as the runtime loads it."""
    path = Path(reducer_package.__file__).parent / "contract.yaml"
    contract = load_contract(path, allowlist=DEFAULT_ALLOWLIST)
    assert isinstance(contract.definition, ModelContractReducer)
    assert contract.definition.state_machine is not None
    return RegistrationReducer(CompiledFSM(contract.definition.state_machine))


def request(node_id: UUID | None = None, **overrides: object) -> ModelRegistrationRequest:
    """An introspection, normalised."""
    data: dict[str, object] = {
        "node_id": node_id or uuid4(),
        "node_name": "orders-effect",
        "node_type": "effect",
        "node_version": "1.2.3",
        "capabilities": ("orders.write",),
        "endpoints": {"health": "http://127.0.0.1:9000/health"},
        "health_endpoint": "http://127.0.0.1:9000/health",
        "observed_at": _T0,
    }
    data.update(overrides)
    return ModelRegistrationRequest.model_validate(data)


def at(seconds: float) -> datetime:
    """A moment ``seconds`` after the test's epoch."""
    return _T0 + timedelta(seconds=seconds)


class Walk:
    """Feeds triggers to the reducer, keeping the record as the orchestrator would."""

    def __init__(self, reducer: RegistrationReducer, introspection: ModelRegistrationRequest):
        self.reducer = reducer
        self.request = introspection
        self.record: ModelRegistrationRecord | None = None
        self.clock = 0.0

    def apply(
        self,
        trigger: EnumRegistrationTrigger,
        *,
        cause: UUID | None = None,
        record: ModelRegistrationRecord | None = None,
    ) -> ModelReduction:
        self.clock += 1
        reduction = self.reducer.reduce(
            record if record is not None else self.record,
            trigger,
            at=at(self.clock),
            cause_id=cause or uuid4(),
            request=self.request if trigger is T.INTROSPECTED else None,
        )
        if reduction.step.success:
            self.record = reduction.record
        return reduction

    def registered(self) -> ModelReduction:
        """The effect stored the registration in both backends: feed that back."""
        assert self.record is not None
        stored = self.record.model_copy(
            update={
                "storage_status": EnumBackendStatus.OK,
                "discovery_status": EnumBackendStatus.OK,
            }
        )
        return self.apply(T.REGISTERED, record=stored)

    def to_active(self) -> None:
        self.apply(T.INTROSPECTED)
        self.registered()
        self.apply(T.ACKED)
        assert self.record is not None
        assert self.record.state is S.ACTIVE


# -- the lifecycle ------------------------------------------------------------------------------


def test_introspection_of_an_unknown_node_registers_it_pending(
    reducer: RegistrationReducer,
) -> None:
    """unregistered + introspected -> pending with a REGISTER intent for a new record (v1)."""
    introspection = request()
    cause = uuid4()
    reduction = reducer.reduce(
        None, T.INTROSPECTED, at=at(1), cause_id=cause, request=introspection
    )
    assert reduction.step.success
    assert (reduction.step.old_state, reduction.step.new_state) == ("unregistered", "pending")
    intent = reduction.intent
    assert intent is not None
    assert (intent.kind, intent.expected_version, intent.record.version) == (K.REGISTER, 0, 1)
    assert (intent.transition, intent.from_state) == ("register_new", "unregistered")
    assert intent.transition_id == f"{cause}:register_new"
    record = intent.record
    assert record == reduction.record
    assert (record.node_id, record.node_name, record.node_type, record.node_version) == (
        introspection.node_id,
        "orders-effect",
        "effect",
        "1.2.3",
    )
    assert record.capabilities == ("orders.write",)
    assert record.endpoints == {"health": "http://127.0.0.1:9000/health"}
    assert (record.state, record.acked) == (S.PENDING, False)
    assert record.registered_at == record.last_heartbeat_at == record.updated_at == at(1)
    assert reduction.announcements == ()


def test_full_lifecycle_pending_accepted_active_stale_expired(
    reducer: RegistrationReducer,
) -> None:
    """pending -> accepted -> active -> stale -> expired, each with its intent and announcement;
    every intent expects the version the previous one wrote."""
    walk = Walk(reducer, request())
    steps = [
        (lambda: walk.apply(T.INTROSPECTED), S.PENDING, K.REGISTER, ()),
        (walk.registered, S.ACCEPTED, K.RECORD_STATE, ("accepted",)),
        (lambda: walk.apply(T.ACKED), S.ACTIVE, K.RECORD_STATE, ("active",)),
        (lambda: walk.apply(T.HEARTBEAT), S.ACTIVE, K.HEARTBEAT, ()),
        (lambda: walk.apply(T.LIVENESS_MISSED), S.STALE, K.RECORD_STATE, ("stale",)),
        (lambda: walk.apply(T.LIVENESS_EXPIRED), S.EXPIRED, K.DEREGISTER, ("expired",)),
    ]
    for version, (run, state, kind, announcements) in enumerate(steps):
        reduction = run()
        assert reduction.step.success
        assert reduction.record is not None
        assert reduction.record.state is state
        assert reduction.intent is not None
        assert reduction.intent.kind is kind
        assert reduction.intent.expected_version == version
        assert reduction.intent.record.version == version + 1
        assert reduction.announcements == announcements
    assert walk.record is not None
    assert walk.record.acked  # the ack was remembered on the way to active


def test_ack_of_an_accepted_node_marks_it_acked_and_active(reducer: RegistrationReducer) -> None:
    """accepted + acked -> active with acked set in the recorded state."""
    walk = Walk(reducer, request())
    walk.apply(T.INTROSPECTED)
    walk.registered()
    reduction = walk.apply(T.ACKED)
    assert reduction.intent is not None
    assert reduction.intent.kind is K.RECORD_STATE
    assert (reduction.intent.record.state, reduction.intent.record.acked) == (S.ACTIVE, True)
    assert reduction.step.transition_name == "acked"


def test_failed_registration_is_rejected_without_a_write(reducer: RegistrationReducer) -> None:
    """pending + registration_failed -> rejected, announced, and no intent (nothing to write)."""
    walk = Walk(reducer, request())
    walk.apply(T.INTROSPECTED)
    reduction = walk.apply(T.REGISTRATION_FAILED)
    assert (reduction.step.new_state, reduction.intent, reduction.announcements) == (
        "rejected",
        None,
        ("rejected",),
    )


@pytest.mark.parametrize("final", [S.EXPIRED, S.REJECTED, S.DEREGISTERED])
def test_a_node_gone_from_the_registry_registers_again(
    reducer: RegistrationReducer, final: EnumRegistrationState
) -> None:
    """After expiry, rejection or deregistration a new introspection registers afresh."""
    introspection = request()
    gone = ModelRegistrationRecord(
        node_id=introspection.node_id,
        node_name="old-name",
        node_type="compute",
        node_version="0.9.0",
        state=final,
        acked=True,
        registered_at=at(0),
        last_heartbeat_at=at(0),
        updated_at=at(0),
        version=7,
    )
    reduction = reducer.reduce(
        gone, T.INTROSPECTED, at=at(50), cause_id=uuid4(), request=introspection
    )
    assert reduction.intent is not None
    assert (reduction.intent.kind, reduction.intent.expected_version) == (K.REGISTER, 7)
    record = reduction.intent.record
    assert (record.state, record.version, record.acked) == (S.PENDING, 8, False)
    assert (record.node_name, record.node_version, record.registered_at) == (
        "orders-effect",
        "1.2.3",
        at(50),
    )


@pytest.mark.parametrize("live", ["pending", "accepted", "active", "stale"])
def test_shutdown_deregisters_from_every_live_state(
    reducer: RegistrationReducer, live: str
) -> None:
    """A shutdown in any live state deregisters and announces it."""
    walk = Walk(reducer, request())
    walk.apply(T.INTROSPECTED)
    if live != "pending":
        walk.registered()
    if live in ("active", "stale"):
        walk.apply(T.ACKED)
    if live == "stale":
        walk.apply(T.LIVENESS_MISSED)
    assert walk.record is not None
    assert walk.record.state.value == live
    reduction = walk.apply(T.SHUTDOWN)
    assert reduction.step.new_state == "deregistered"
    assert reduction.intent is not None
    assert reduction.intent.kind is K.DEREGISTER
    assert reduction.announcements == ("deregistered",)


# -- duplicates and out-of-order messages --------------------------------------------------------


def test_duplicate_introspections_never_register_twice(reducer: RegistrationReducer) -> None:
    """Introspecting again while accepted re-announces acceptance, while active only touches:
    neither writes a second registration."""
    walk = Walk(reducer, request())
    walk.apply(T.INTROSPECTED)
    walk.registered()
    again = walk.apply(T.INTROSPECTED)
    assert (again.step.new_state, again.intent, again.announcements) == (
        "accepted",
        None,
        ("accepted",),
    )
    walk.apply(T.ACKED)
    active = walk.apply(T.INTROSPECTED)
    assert active.step.new_state == "active"
    assert active.intent is not None
    assert active.intent.kind is K.HEARTBEAT
    assert active.announcements == ()


def test_an_interrupted_registration_is_resumed_by_the_next_introspection(
    reducer: RegistrationReducer,
) -> None:
    """A registration left pending (its follow-up write failed, or the registry stopped midway)
    is written again by the next introspection instead of staying pending forever."""
    walk = Walk(reducer, request())
    walk.apply(T.INTROSPECTED)
    assert walk.record is not None
    assert walk.record.state is S.PENDING
    again = walk.apply(T.INTROSPECTED)
    assert again.step.new_state == "pending"
    assert again.intent is not None
    assert (again.intent.kind, again.intent.expected_version) == (K.REGISTER, 1)
    assert again.intent.record.version == 2
    finished = walk.registered()
    assert finished.step.new_state == "accepted"
    assert finished.announcements == ("accepted",)


def test_an_ack_before_the_registration_finished_is_remembered(
    reducer: RegistrationReducer,
) -> None:
    """pending + acked remembers the ack; the registration's outcome then goes straight to
    active, announcing accepted and active."""
    walk = Walk(reducer, request())
    walk.apply(T.INTROSPECTED)
    early = walk.apply(T.ACKED)
    assert early.step.transition_name == "early_ack"
    assert early.step.new_state == "pending"
    assert early.intent is not None
    assert early.intent.kind is K.RECORD_STATE
    assert early.intent.record.acked
    done = walk.registered()
    assert (done.step.transition_name, done.step.new_state) == (
        "registered_after_early_ack",
        "active",
    )
    assert done.announcements == ("accepted", "active")
    assert done.intent is not None
    assert done.intent.kind is K.RECORD_STATE


def test_acks_after_active_or_stale_change_nothing(reducer: RegistrationReducer) -> None:
    """A second ack, or an ack of a stale node, is taken without a write or an announcement."""
    walk = Walk(reducer, request())
    walk.to_active()
    second = walk.apply(T.ACKED)
    assert (second.step.success, second.intent, second.announcements) == (True, None, ())
    walk.apply(T.LIVENESS_MISSED)
    stale = walk.apply(T.ACKED)
    assert (stale.step.new_state, stale.intent, stale.announcements) == ("stale", None, ())


def test_heartbeats_move_liveness_and_revive_a_stale_node(reducer: RegistrationReducer) -> None:
    """A heartbeat moves last_heartbeat_at (pending, accepted, active); a stale node that
    heartbeats is active again, recorded and announced."""
    walk = Walk(reducer, request())
    walk.apply(T.INTROSPECTED)
    pending = walk.apply(T.HEARTBEAT)
    assert pending.intent is not None
    assert pending.intent.kind is K.HEARTBEAT
    assert pending.intent.record.last_heartbeat_at == at(walk.clock)
    walk.registered()
    accepted = walk.apply(T.HEARTBEAT)
    assert (accepted.step.new_state, accepted.announcements) == ("accepted", ())
    walk.apply(T.ACKED)
    walk.apply(T.LIVENESS_MISSED)
    revived = walk.apply(T.HEARTBEAT)
    assert revived.step.transition_name == "revived_by_heartbeat"
    assert revived.step.new_state == "active"
    # touch + record_state: one write, the stronger one, carrying the new heartbeat time.
    assert revived.intent is not None
    assert revived.intent.kind is K.RECORD_STATE
    assert revived.intent.record.last_heartbeat_at == at(walk.clock)
    assert revived.announcements == ("active",)


def test_ack_timeout_re_announces_acceptance(reducer: RegistrationReducer) -> None:
    """An accepted node that did not ack in time is sent registration-accepted again."""
    walk = Walk(reducer, request())
    walk.apply(T.INTROSPECTED)
    walk.registered()
    reduction = walk.apply(T.ACK_TIMEOUT)
    assert (reduction.step.new_state, reduction.announcements) == ("accepted", ("accepted",))
    assert reduction.intent is not None
    assert reduction.intent.kind is K.RECORD_STATE


# -- what does not apply ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "trigger", [T.HEARTBEAT, T.ACKED, T.SHUTDOWN, T.LIVENESS_MISSED, T.REGISTERED]
)
def test_triggers_about_an_unknown_node_do_not_apply(
    reducer: RegistrationReducer, trigger: EnumRegistrationTrigger
) -> None:
    """Only an introspection can start a registration; anything else is a failed step."""
    reduction = reducer.reduce(None, trigger, at=at(1), cause_id=uuid4(), node_id=uuid4())
    assert not reduction.step.success
    assert reduction.step.failure == "no_transition"
    assert (reduction.record, reduction.intent, reduction.announcements) == (None, None, ())


def test_a_trigger_without_an_edge_leaves_the_record_untouched(
    reducer: RegistrationReducer,
) -> None:
    """active + registered has no edge: the same record comes back, nothing to do."""
    walk = Walk(reducer, request())
    walk.to_active()
    before = walk.record
    reduction = walk.apply(T.REGISTERED)
    assert not reduction.step.success
    assert reduction.record is before
    assert reduction.intent is None


def test_registering_needs_the_introspection(reducer: RegistrationReducer) -> None:
    """A REGISTER without the node's introspection is a programming error, said plainly."""
    with pytest.raises(ValueError, match="introspection"):
        reducer.reduce(None, T.INTROSPECTED, at=at(1), cause_id=uuid4(), request=None)


# -- transition ids and purity ---------------------------------------------------------------


def test_transition_ids_are_keyed_by_the_cause(reducer: RegistrationReducer) -> None:
    """The same cause gives the same transition id (a retried write is recognised); another
    cause gives another id."""
    walk = Walk(reducer, request())
    walk.to_active()
    assert walk.record is not None
    cause = uuid4()
    first = reducer.reduce(walk.record, T.HEARTBEAT, at=at(99), cause_id=cause)
    retried = reducer.reduce(walk.record, T.HEARTBEAT, at=at(99), cause_id=cause)
    other = reducer.reduce(walk.record, T.HEARTBEAT, at=at(99), cause_id=uuid4())
    assert first.intent is not None
    assert retried.intent is not None
    assert other.intent is not None
    assert first.intent.transition_id == retried.intent.transition_id == f"{cause}:heartbeat_active"
    assert other.intent.transition_id != first.intent.transition_id
    assert first == retried  # pure: same input, same output


def test_one_cause_gives_distinct_ids_to_its_two_transitions(reducer: RegistrationReducer) -> None:
    """register_new and registered caused by one introspection get different transition ids."""
    walk = Walk(reducer, request())
    cause = uuid4()
    registered = walk.apply(T.INTROSPECTED, cause=cause)
    assert walk.record is not None
    stored = walk.record.model_copy(update={"storage_status": EnumBackendStatus.OK})
    accepted = walk.apply(T.REGISTERED, cause=cause, record=stored)
    assert registered.intent is not None
    assert accepted.intent is not None
    assert registered.intent.transition_id != accepted.intent.transition_id
    assert accepted.intent.transition_id == f"{cause}:registered"

"""The registry effect's answers about failures: an outage is marked retriable after the
half-made registration is undone, a conflict is no backend failure, and an open circuit means
no backend is called at all. The capabilities are doubles; executors and breakers are real."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from structlog.testing import capture_logs

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import InfraConnectionError, RuntimeHostError
from omnibase_infra.nodes.node_registry_effect.effect import RegistryEffect
from omnibase_infra.nodes.node_registry_effect.storage import RegistrationConflictError
from omnibase_infra.nodes.registration.models.enum_backend_status import EnumBackendStatus
from omnibase_infra.nodes.registration.models.enum_registration_intent_kind import (
    EnumRegistrationIntentKind,
)
from omnibase_infra.nodes.registration.models.enum_registration_state import (
    EnumRegistrationState,
)
from omnibase_infra.nodes.registration.models.model_registration_intent import (
    ModelRegistrationIntent,
)
from omnibase_infra.nodes.registration.models.model_registration_record import (
    ModelRegistrationRecord,
)
from omnibase_infra.resilience.breaker.breaker import AsyncCircuitBreaker
from omnibase_infra.resilience.effect.executor import EffectExecutor
from omnibase_infra.resilience.effect.retry import RetryPolicy

_AT = datetime(2026, 1, 1, tzinfo=UTC)


class _Backend:
    """Stands for a capability: counts applies and removes, fails applies as told."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure
        self.applied = 0
        self.removed = 0

    async def apply(self, *_: object) -> None:
        self.applied += 1
        if self.failure is not None:
            raise self.failure

    async def remove(self, *_: object) -> None:
        self.removed += 1


def _executor(name: str) -> EffectExecutor:
    breaker = AsyncCircuitBreaker(name, EnumInfraTransportType.DATABASE, threshold=3)
    return EffectExecutor(
        name,
        retry=RetryPolicy(max_attempts=2, base_delay_seconds=0.0, jitter_factor=0.0),
        breaker=breaker,
    )


def _effect(storage: _Backend, discovery: _Backend) -> RegistryEffect:
    return RegistryEffect(
        storage,  # type: ignore[arg-type]
        discovery,  # type: ignore[arg-type]
        storage_executor=_executor("registration.storage"),
        discovery_executor=_executor("registration.discovery"),
    )


def _registration() -> ModelRegistrationIntent:
    node = uuid4()
    record = ModelRegistrationRecord(
        node_id=node,
        node_name="n",
        node_type="effect",
        node_version="1.0.0",
        state=EnumRegistrationState.PENDING,
        registered_at=_AT,
        last_heartbeat_at=_AT,
        updated_at=_AT,
        version=1,
    )
    return ModelRegistrationIntent(
        kind=EnumRegistrationIntentKind.REGISTER,
        record=record,
        expected_version=0,
        transition="register_new",
        from_state="unregistered",
        transition_id=f"{uuid4()}:register_new",
    )


async def test_storage_unavailable_is_compensated_and_marked_retriable() -> None:
    """Storage refusing connections: discovery's instance is undone and the result says the
    failure was an outage (retry later), not a reason to reject."""
    storage = _Backend(InfraConnectionError("refused"))
    discovery = _Backend()
    result = await _effect(storage, discovery).apply(_registration(), None)
    assert not result.succeeded
    assert result.unavailable
    assert result.compensated
    assert discovery.removed == 1
    assert result.storage.status is EnumBackendStatus.FAILED


async def test_a_refusal_is_not_marked_retriable() -> None:
    """A backend refusing for good (non-retriable) makes a result that is not an outage."""
    storage = _Backend(RuntimeHostError("bad registration", retriable=False))
    result = await _effect(storage, _Backend()).apply(_registration(), None)
    assert not result.succeeded
    assert not result.unavailable


async def test_a_conflict_is_raised_without_counting_as_a_backend_failure() -> None:
    """A version conflict reaches the caller (to reload) without a retry, a breaker failure or
    a 'failed call' warning."""
    storage = _Backend(RegistrationConflictError("moved on", retriable=False))
    effect = _effect(storage, _Backend())
    with capture_logs() as logs, pytest.raises(RegistrationConflictError):
        await effect.apply(_registration(), None)
    assert storage.applied == 1
    breaker = effect._storage_executor.breaker
    assert breaker is not None
    assert breaker.consecutive_failures == 0
    assert not [line for line in logs if line["event"] == "effect call failed"]


async def test_no_backend_is_called_while_a_circuit_is_open() -> None:
    """Once storage's circuit is open, a registration calls neither backend (nothing to make,
    nothing to undo) and says storage is unavailable."""
    storage = _Backend(InfraConnectionError("refused"))
    discovery = _Backend()
    effect = _effect(storage, discovery)
    await effect.apply(_registration(), None)  # two failed tries
    await effect.apply(_registration(), None)  # the third opens the circuit
    applied = (storage.applied, discovery.applied, discovery.removed)
    result = await effect.apply(_registration(), None)
    assert (storage.applied, discovery.applied, discovery.removed) == applied
    assert result.unavailable
    assert result.storage.attempts == 0
    assert "circuit open" in (result.storage.error or "")

"""Each public package's ``__all__``: pinned name by name, sorted, without duplicates, and every
name imports.

Packages are found on disk (no import at collection), so a new package with an ``__all__`` is
covered as soon as it appears, and fails until its face is pinned in ``_FACES``.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

import omnibase_infra

_ROOT = Path(omnibase_infra.__file__).parent
_DECLARES_ALL = re.compile(r"^__all__\s*[:=]", re.M)


def _packages_with_all() -> list[str]:
    """Dotted names of every package under omnibase_infra whose __init__ declares __all__."""
    names: list[str] = []
    for init in sorted(_ROOT.rglob("__init__.py")):
        relative = init.parent.relative_to(_ROOT.parent)
        if any(part.startswith("_") for part in relative.parts):
            continue
        if _DECLARES_ALL.search(init.read_text(encoding="utf-8")):
            names.append(".".join(relative.parts))
    return names


_PACKAGES = _packages_with_all()

# The public faces, name by name: changing one is a decision, made here.
_FACES: dict[str, list[str]] = {
    "omnibase_infra": [
        "__version__",
    ],
    "omnibase_infra.cli": [
        "app",
        "main",
    ],
    "omnibase_infra.declarative": [
        "ModelFsmBinding",
        "ModelFsmIntent",
        "ModelWorkflowRules",
        "ModelWorkflowStepFailed",
        "WorkflowStep",
        "compute_result_problems",
        "declarative_problems",
        "declarative_routes",
        "is_declarative",
    ],
    "omnibase_infra.dispatch": [
        "DeadLetterPolicy",
        "DispatchContext",
        "DispatchRoute",
        "MessageDispatchEngine",
        "ModelNodeOutput",
        "ModelOutgoingMessage",
        "ProtocolFailurePolicy",
        "ProtocolMessageHandler",
        "RetryConsumer",
        "RetryFailurePolicy",
        "make_route",
    ],
    "omnibase_infra.infra_nodes": [
        "INFRA_NODES_DIR",
    ],
    "omnibase_infra.infra_nodes.models": [
        "ModelDeployServiceRequested",
        "ModelDeploymentPlan",
        "ModelServiceDeployed",
    ],
    "omnibase_infra.fsm": [
        "CompiledFSM",
        "FsmStep",
    ],
    "omnibase_infra.handlers": [
        "ProtocolInfraHandler",
    ],
    "omnibase_infra.handlers.discovery": [
        "EnumCheckStatus",
        "ModelBlockingQuery",
        "ModelDiscoveryCheck",
        "ModelKvEntry",
        "ModelKvReadResult",
        "ModelServiceCatalog",
        "ModelServiceInstance",
        "ModelServiceInstances",
        "ModelServiceRegistration",
    ],
    "omnibase_infra.migrations": [
        "MIGRATIONS_TABLE",
        "MigrationChecksumError",
        "MigrationError",
        "ModelMigration",
        "apply_migrations",
        "load_migrations",
        "package_migrations",
    ],
    "omnibase_infra.mixins": [
        "MixinAsyncCircuitBreaker",
    ],
    "omnibase_infra.models": [
        "ModelHealthCheckResult",
        "ModelInfraErrorContext",
        "ModelNodeIdentity",
        "ModelReadinessReport",
    ],
    "omnibase_infra.nodes.node_circuit_breaker_compute": [
        "EnumCircuitBreakerEventKind",
        "ModelCircuitBreakerComputeInput",
        "ModelCircuitBreakerDecision",
        "ModelCircuitBreakerEvent",
        "ModelCircuitBreakerState",
        "circuit_breaker_transition",
    ],
    # The seeds' name of the breaker node (an import alias, no contract).
    "omnibase_infra.nodes.node_event_bus_circuit_breaker_compute": [
        "EnumCircuitBreakerEventKind",
        "ModelCircuitBreakerComputeInput",
        "ModelCircuitBreakerDecision",
        "ModelCircuitBreakerEvent",
        "ModelCircuitBreakerState",
        "circuit_breaker_transition",
    ],
    "omnibase_infra.nodes.node_infrastructure_health_monitor_orchestrator": [
        "ModelDependencyHealthChanged",
        "ModelDependencyProbe",
        "ModelHealthMonitorSettings",
    ],
    "omnibase_infra.nodes.registration.models": [
        "EnumBackendStatus",
        "EnumRegistrationIntentKind",
        "EnumRegistrationState",
        "EnumRegistrationTrigger",
        "ModelBackendOutcome",
        "ModelNodeHeartbeat",
        "ModelNodeRegistrationAccepted",
        "ModelNodeRegistrationAcked",
        "ModelNodeRegistrationRejected",
        "ModelNodeStateChanged",
        "ModelPublishedIntrospection",
        "ModelRegistrationIntent",
        "ModelRegistrationRecord",
        "ModelRegistrationRequest",
        "ModelRegistrationSettings",
        "ModelRegistryEntry",
        "ModelRegistryListing",
        "ModelRegistryResult",
        "ModelRuntimeTick",
        "NodeTypeName",
    ],
    "omnibase_infra.resilience": [
        "AsyncCircuitBreaker",
        "CircuitBreakerRules",
        "CompensatingEffect",
        "DeadlineWatchdog",
        "EffectExecutor",
        "EnumIdempotencyOutcome",
        "FallbackHandler",
        "IdempotencyStoreInmemory",
        "MixinAsyncCircuitBreaker",
        "ModelCircuitBreakerSnapshot",
        "ModelCompensationFailure",
        "ModelCompensationResult",
        "ModelEffectFallback",
        "ModelEffectPolicy",
        "ModelEffectResult",
        "ModelEffectStep",
        "ModelIdempotencyClaim",
        "ModelIdempotencyPolicy",
        "ProtocolCredentialRefresher",
        "ProtocolIdempotencyStore",
        "RetryPolicy",
        "Sleep",
        "StepAction",
        "StepCompensation",
        "idempotency_key",
        "is_dependency_failure",
    ],
    "omnibase_infra.resilience.idempotency": [
        "EnumIdempotencyOutcome",
        "IdempotencyStoreInmemory",
        "ModelIdempotencyClaim",
        "ProtocolIdempotencyStore",
        "idempotency_key",
    ],
    "omnibase_infra.resilience.outbox": [
        "OutboxRelay",
        "enqueue",
        "enqueue_envelope",
    ],
    "omnibase_infra.testing": [
        "AsgiServerThread",
        "FakeConsulAgent",
        "FakeKeycloakServer",
        "FlakyHttpServer",
        "HttpTestServer",
        "ManagedProcess",
        "ManualClock",
        "OidcProviderServer",
        "OpenBaoServer",
        "ServerStartError",
        "TansuServer",
        "TopicFactory",
        "ValkeyServer",
        "error_surface",
        "eventually",
        "free_port",
        "free_port_pair",
        "make_kafka_settings",
        "make_unique_topic",
    ],
}


def test_the_core_packages_are_covered() -> None:
    """The packages the foundation ships today all declare __all__ and are checked here."""
    assert {
        "omnibase_infra",
        "omnibase_infra.dispatch",
        "omnibase_infra.handlers",
        "omnibase_infra.models",
    } <= set(_PACKAGES)


@pytest.mark.parametrize("package", _PACKAGES)
def test_all_is_sorted_unique_and_every_name_imports(package: str) -> None:
    """__all__ is sorted, has no duplicates, and each name is an attribute of the package."""
    module = importlib.import_module(package)
    exported = module.__all__
    assert isinstance(exported, list | tuple)
    assert list(exported) == sorted(exported), f"{package}.__all__ is not sorted"
    assert len(set(exported)) == len(exported), f"{package}.__all__ has duplicates"
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == [], f"{package}.__all__ names what it does not define: {missing}"


def test_every_face_is_pinned() -> None:
    """The packages that declare __all__ are exactly the faces pinned in _FACES."""
    assert sorted(_PACKAGES) == sorted(_FACES)


@pytest.mark.parametrize("package", sorted(_FACES))
def test_face_exports_exactly_its_pinned_names(package: str) -> None:
    """A package's __all__ is exactly its pinned list: no public name appears or goes unnoticed."""
    assert list(importlib.import_module(package).__all__) == _FACES[package]

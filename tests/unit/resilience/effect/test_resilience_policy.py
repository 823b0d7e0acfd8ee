"""ModelEffectPolicy: the error_handling section of EFFECT contracts, composed from core."""

from __future__ import annotations

import pytest
import yaml

from omnibase_infra._core import ModelCircuitBreakerSubcontract, ModelRetrySubcontract
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.resilience import ModelEffectPolicy

_CONTRACT_SECTION = """
timeout_seconds: 5
max_elapsed_seconds: 30
retry:
  version: {major: 1, minor: 0, patch: 0}
  max_retries: 2
  base_delay_seconds: 0.2
  backoff_strategy: exponential
circuit_breaker:
  version: {major: 1, minor: 0, patch: 0}
  failure_threshold: 4
  timeout_seconds: 20
idempotency:
  business_key_fields: [node_id, registration.epoch]
fallback:
  kind: static
  value: {status: unknown}
steps:
  - {name: reserve, compensation: release}
  - {name: notify}
"""


def test_a_full_section_validates_into_core_subcontracts() -> None:
    """Retry and breaker are core's own models; the rest is ours."""
    policy = ModelEffectPolicy.from_contract_section(yaml.safe_load(_CONTRACT_SECTION))
    assert isinstance(policy.retry, ModelRetrySubcontract)
    assert isinstance(policy.circuit_breaker, ModelCircuitBreakerSubcontract)
    assert policy.max_attempts == 3
    assert policy.attempt_timeout_seconds == 5
    assert policy.circuit_breaker.failure_threshold == 4
    assert policy.idempotency.business_key_fields == ("node_id", "registration.epoch")
    assert policy.fallback is not None
    assert policy.fallback.value == {"status": "unknown"}
    assert [s.compensation for s in policy.steps] == ["release", None]


def test_an_absent_section_gets_resilient_defaults() -> None:
    """No error_handling still means timeout, retries, breaker and idempotency."""
    policy = ModelEffectPolicy.from_contract_section(None)
    assert policy.timeout_seconds == 10.0
    assert policy.max_attempts == 4
    assert policy.circuit_breaker is not None
    assert policy.idempotency.enabled is True
    assert policy.fallback is None


def test_null_retry_and_breaker_disable_them() -> None:
    """retry: null gives a single attempt; circuit_breaker: null gives no breaker."""
    policy = ModelEffectPolicy.from_contract_section({"retry": None, "circuit_breaker": None})
    assert policy.max_attempts == 1
    assert policy.circuit_breaker is None


def test_per_attempt_timeout_of_core_retry_is_used_when_given() -> None:
    """Core's retry.timeout_per_attempt_seconds sets the attempt timeout."""
    policy = ModelEffectPolicy.model_validate(
        {
            "retry": {
                "version": {"major": 1, "minor": 0, "patch": 0},
                "timeout_per_attempt_seconds": 2.5,
            }
        }
    )
    assert policy.attempt_timeout_seconds == 2.5


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"timeout_seconds": 0}, "error_handling.timeout_seconds"),
        ({"timeout_seconds": "soon"}, "error_handling.timeout_seconds"),
        ({"retries": 3}, "error_handling.retries"),
        ({"retry": {"max_retries": 3}}, "error_handling.retry.version"),
        ({"fallback": {"kind": "handler"}}, "error_handling.fallback"),
        ({"fallback": {"kind": "static", "handler": "x"}}, "error_handling.fallback"),
        ({"idempotency": {"business_key_fields": ["a..b"]}}, "error_handling.idempotency"),
        ({"steps": [{"name": "a"}, {"name": "a"}]}, "error_handling"),
    ],
)
def test_bad_sections_name_the_field(section: dict[str, object], field: str) -> None:
    """A bad section raises ProtocolConfigurationError naming the file and the field."""
    with pytest.raises(ProtocolConfigurationError) as caught:
        ModelEffectPolicy.from_contract_section(section, file="nodes/x/contract.yaml")
    assert caught.value.file == "nodes/x/contract.yaml"
    assert caught.value.field is not None
    assert caught.value.field.startswith(field)


def test_core_validator_errors_become_configuration_errors() -> None:
    """Core's subcontract validators (which raise their own error) surface as our typed error."""
    section = {
        "circuit_breaker": {"version": {"major": 1, "minor": 0, "patch": 0}, "timeout_seconds": 5}
    }
    with pytest.raises(ProtocolConfigurationError, match="timeout_seconds"):
        ModelEffectPolicy.from_contract_section(section, file="c.yaml")


def test_disagreeing_timeouts_are_refused() -> None:
    """timeout_seconds and core's timeout_per_attempt_seconds may not contradict each other."""
    with pytest.raises(ProtocolConfigurationError, match="disagree"):
        ModelEffectPolicy.from_contract_section(
            {
                "timeout_seconds": 3,
                "retry": {
                    "version": {"major": 1, "minor": 0, "patch": 0},
                    "timeout_per_attempt_seconds": 2,
                },
            }
        )


def test_idempotency_lease_must_outlive_the_call() -> None:
    """A lease shorter than the longest call would let a duplicate run beside the original."""
    with pytest.raises(ProtocolConfigurationError, match="lease_seconds"):
        ModelEffectPolicy.from_contract_section(
            {"max_elapsed_seconds": 100, "idempotency": {"lease_seconds": 60}}
        )
    policy = ModelEffectPolicy.from_contract_section(
        {"max_elapsed_seconds": 100, "idempotency": {"enabled": False, "lease_seconds": 60}}
    )
    assert policy.idempotency.enabled is False


def test_policy_is_immutable() -> None:
    """A validated policy cannot be changed after loading."""
    policy = ModelEffectPolicy()
    with pytest.raises(ValueError, match="frozen"):
        policy.timeout_seconds = 1.0  # type: ignore[misc]


def test_a_capability_target_overrides_the_effects_transport() -> None:
    """targets.<capability> gives that capability its transport; others get the effect's."""
    policy = ModelEffectPolicy.from_contract_section(
        {
            "transport": "kafka",
            "targets": {"registration.storage": {"transport": "db", "service_name": "postgres"}},
        }
    )
    storage = policy.target("registration.storage")
    assert storage.transport is EnumInfraTransportType.DATABASE
    assert storage.service_name == "postgres"
    other = policy.target("anything.else")
    assert other.transport is EnumInfraTransportType.KAFKA
    assert other.service_name is None


def test_an_unknown_transport_is_refused_with_its_field() -> None:
    """A transport that is not an EnumInfraTransportType fails the load, naming the field."""
    with pytest.raises(ProtocolConfigurationError) as caught:
        ModelEffectPolicy.from_contract_section({"transport": "carrier-pigeon"})
    assert caught.value.field == "error_handling.transport"

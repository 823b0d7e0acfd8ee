"""A contract's ``error_handling`` refers to registered policies by name@version: resolved at
load into the same policy the numbers would give; a bad reference names file and field; a
reference is never an import."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import JsonValue

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.runtime.contracts.contract_loader import load_contract
from omnibase_infra.runtime.policies.loader import build_policy_registry
from omnibase_infra.runtime.policies.model_policy_definition import ModelPolicyDefinition
from omnibase_infra.runtime.policies.model_policy_settings import ModelPolicySettings
from omnibase_infra.runtime.policies.registry import PolicyRegistry

EFFECT = Path(__file__).parents[2] / "contracts" / "valid" / "node_shop_storage_effect"
ALLOW = ("demo_nodes",)
_DEFINITIONS: list[dict[str, JsonValue]] = [
    {"name": "std-retry", "version": "1.0.0", "kind": "retry", "retry": {"max_retries": 4}},
    {"name": "std-retry", "version": "1.1.0", "kind": "retry", "retry": {"max_retries": 5}},
    {
        "name": "std-breaker",
        "version": "2.0.0",
        "kind": "circuit_breaker",
        "circuit_breaker": {"failure_threshold": 7},
    },
    {
        "name": "fast",
        "version": "1.0.0",
        "kind": "timeout",
        "timeout": {"timeout_seconds": 2, "max_elapsed_seconds": 9},
    },
]


def _registry() -> PolicyRegistry:
    definitions = [ModelPolicyDefinition.model_validate(d) for d in _DEFINITIONS]
    return build_policy_registry(ModelPolicySettings(definitions=definitions), allowlist=ALLOW)


def _contract(tmp_path: Path, error_handling: dict[str, JsonValue]) -> Path:
    data = yaml.safe_load((EFFECT / "contract.yaml").read_text())
    data = copy.deepcopy(data)
    data["error_handling"] = error_handling
    path = tmp_path / "node" / "contract.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def _refused(path: Path, registry: PolicyRegistry | None = None) -> ProtocolConfigurationError:
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_contract(path, allowlist=ALLOW, policies=registry or _registry())
    return caught.value


def test_references_resolve_to_the_registered_numbers(tmp_path: Path) -> None:
    """retry, circuit_breaker and timeout references become the registered policies' values."""
    path = _contract(
        tmp_path,
        {
            "retry": {"policy": "std-retry@1"},
            "circuit_breaker": {"policy": "std-breaker@2.0.0"},
            "timeout": {"policy": "fast@1"},
            "idempotency": {"enabled": False},
        },
    )
    contract = load_contract(path, allowlist=ALLOW, policies=_registry())
    policy = contract.effect_policy
    assert policy is not None
    assert policy.retry is not None
    assert policy.circuit_breaker is not None
    assert policy.max_attempts == 6  # std-retry@1 is 1.1.0: max_retries 5
    assert policy.circuit_breaker.failure_threshold == 7
    assert (policy.timeout_seconds, policy.max_elapsed_seconds) == (2, 9)
    assert contract.policy_refs == {
        "error_handling.retry": "std-retry@1.1.0",
        "error_handling.circuit_breaker": "std-breaker@2.0.0",
        "error_handling.timeout": "fast@1.0.0",
    }


def test_unknown_reference_names_file_and_field(tmp_path: Path) -> None:
    """A reference to no registered policy is a contract error with the file and the field."""
    path = _contract(tmp_path, {"retry": {"policy": "std-retry@3"}})
    error = _refused(path)
    assert error.file == str(path)
    assert error.field == "error_handling.retry.policy"
    assert "unknown policy std-retry@3" in error.reason


def test_without_a_registry_every_reference_is_unknown(tmp_path: Path) -> None:
    """Loading without the config's registry resolves nothing (no implicit policies)."""
    path = _contract(tmp_path, {"retry": {"policy": "std-retry@1"}})
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_contract(path, allowlist=ALLOW)
    assert "unknown policy" in caught.value.reason


def test_reference_mixed_with_numbers_is_refused(tmp_path: Path) -> None:
    """A reference stands alone: the policy holds the numbers, the contract may not add some."""
    path = _contract(tmp_path, {"retry": {"policy": "std-retry@1", "max_retries": 9}})
    assert _refused(path).field == "error_handling.retry"
    both = _contract(tmp_path, {"timeout": {"policy": "fast@1"}, "timeout_seconds": 3})
    assert "both given" in _refused(both).reason


def test_reference_never_imports_the_module_it_names(tmp_path: Path) -> None:
    """A reference naming an importable module is only looked up: unknown, nothing imported."""
    root = tmp_path / "mods"
    root.mkdir()
    marker = root / "imported"
    (root / "polmarker.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    sys.path.insert(0, str(root))
    try:
        for reference in ("polmarker@1", "polmarker.thing@1", "polmarker"):
            path = _contract(tmp_path, {"retry": {"policy": reference}})
            _refused(path)
    finally:
        sys.path.remove(str(root))
    assert not marker.exists()
    assert "polmarker" not in sys.modules


def test_malformed_reference_is_refused(tmp_path: Path) -> None:
    """A reference that is not name@version is refused naming the field."""
    path = _contract(tmp_path, {"circuit_breaker": {"policy": "../etc/passwd"}})
    error = _refused(path)
    assert error.field == "error_handling.circuit_breaker.policy"
    assert "is not a policy reference" in error.reason

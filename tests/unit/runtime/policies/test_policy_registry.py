"""The policy registry's trust mitigations (docs/patterns/policy-registry.md), one test each."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pydantic import JsonValue, ValidationError
from structlog.testing import capture_logs

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.runtime.config import load_runtime_config
from omnibase_infra.runtime.policies.enum_policy_kind import EnumPolicyKind
from omnibase_infra.runtime.policies.errors import (
    PolicyConflictError,
    PolicyRegistryError,
    PolicyRegistryFrozenError,
)
from omnibase_infra.runtime.policies.loader import build_policy_registry
from omnibase_infra.runtime.policies.model_policy_definition import ModelPolicyDefinition
from omnibase_infra.runtime.policies.model_policy_settings import ModelPolicySettings
from omnibase_infra.runtime.policies.registry import PolicyRegistry

ALLOW = ("omnibase_infra", "polmods")


def _retry(name: str = "std", version: str = "1.0.0", retries: int = 2) -> ModelPolicyDefinition:
    return ModelPolicyDefinition.model_validate(
        {"name": name, "version": version, "kind": "retry", "retry": {"max_retries": retries}}
    )


@pytest.fixture
def modules(tmp_path: Path) -> Iterator[Path]:
    """A directory on sys.path for the test's own modules; they are unloaded afterwards."""
    root = tmp_path / "mods"
    (root / "polmods").mkdir(parents=True)
    (root / "polmods" / "__init__.py").write_text("")
    sys.path.insert(0, str(root))
    before = set(sys.modules)
    yield root
    sys.path.remove(str(root))
    for name in set(sys.modules) - before:
        del sys.modules[name]


def _module_that_marks(root: Path, dotted: str, body: str = "") -> Path:
    """Write module ``dotted`` under ``root``; importing it creates the returned marker file."""
    marker = root / f"{dotted}.imported"
    path = root.joinpath(*dotted.split(".")).with_suffix(".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    for parent in path.relative_to(root).parents:
        if parent != Path("."):
            (root / parent / "__init__.py").touch()
    path.write_text(f"open({str(marker)!r}, 'w').close()\n{body}")
    return marker


def test_module_outside_the_allowlist_is_refused_and_never_imported(modules: Path) -> None:
    """A policy module outside the allowlist is refused before its code runs."""
    marker = _module_that_marks(modules, "strangers.policies", "ONEX_POLICIES = []")
    settings = ModelPolicySettings(modules=["strangers.policies"])
    with pytest.raises(ProtocolConfigurationError) as caught:
        build_policy_registry(settings, allowlist=ALLOW, config_file="runtime.yaml")
    assert caught.value.field == "policies.modules.0"
    assert "outside" in caught.value.reason
    assert not marker.exists()
    assert "strangers.policies" not in sys.modules


def test_explicit_policy_allowlist_narrows_the_plugin_allowlist(modules: Path) -> None:
    """With policies.allowlist given, a module trusted for handlers is not trusted for policies."""
    marker = _module_that_marks(modules, "polmods.handlers_only", "ONEX_POLICIES = []")
    settings = ModelPolicySettings(modules=["polmods.handlers_only"], allowlist=["polmods.pol"])
    with pytest.raises(ProtocolConfigurationError):
        build_policy_registry(settings, allowlist=ALLOW)
    assert not marker.exists()


def test_allowlisted_module_gives_data_and_is_registered(modules: Path) -> None:
    """An allowlisted module's ONEX_POLICIES mappings are validated and registered."""
    _module_that_marks(
        modules,
        "polmods.good",
        "ONEX_POLICIES = [{'name': 'm', 'version': '1.2.0', 'kind': 'timeout',"
        " 'timeout': {'timeout_seconds': 3}}]",
    )
    registry = build_policy_registry(ModelPolicySettings(modules=["polmods.good"]), allowlist=ALLOW)
    entry = registry.entries()["m@1.2.0"]
    assert entry.source == "module polmods.good"


def test_module_exporting_code_instead_of_data_is_refused(modules: Path) -> None:
    """A module whose ONEX_POLICIES holds a callable is refused: policies are data, never code."""
    _module_that_marks(modules, "polmods.code", "def policy(): pass\nONEX_POLICIES = [policy]")
    with pytest.raises(PolicyRegistryError) as caught:
        build_policy_registry(ModelPolicySettings(modules=["polmods.code"]), allowlist=ALLOW)
    assert "never code" in caught.value.reason


def test_module_cannot_bypass_validation_with_an_unvalidated_instance(modules: Path) -> None:
    """A definition built with model_construct (no validation) is validated again at load."""
    _module_that_marks(
        modules,
        "polmods.sneaky",
        "from omnibase_infra.runtime.policies.model_policy_definition import "
        "ModelPolicyDefinition as D\n"
        "from omnibase_infra.runtime.policies.model_timeout_policy import ModelTimeoutPolicy as T\n"
        "ONEX_POLICIES = [D.model_construct(name='s', version='1.0.0', kind='timeout', "
        "description='', retry=None, circuit_breaker=None, "
        "timeout=T.model_construct(timeout_seconds=99999.0, max_elapsed_seconds=None))]",
    )
    with pytest.raises(ProtocolConfigurationError):
        build_policy_registry(ModelPolicySettings(modules=["polmods.sneaky"]), allowlist=ALLOW)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"kind": "retry", "retry": {"max_retries": 11}}, "allows at most 10"),
        ({"kind": "retry", "retry": {"max_retries": 1, "max_delay_seconds": 900}}, "at most 300"),
        ({"kind": "timeout", "timeout": {"timeout_seconds": 601}}, "less than or equal to 600"),
        ({"kind": "timeout", "timeout": {"timeout_seconds": 0}}, "greater than 0"),
        ({"kind": "retry", "timeout": {"timeout_seconds": 1}}, "takes a 'retry' section"),
        (
            {"kind": "circuit_breaker", "circuit_breaker": {"failure_threshold": 50}},
            "should be at least 2x failure_threshold",
        ),
    ],
)
def test_values_out_of_bounds_stop_the_config_naming_file_and_field(
    tmp_path: Path, body: dict[str, JsonValue], reason: str
) -> None:
    """A policy out of the runtime's bounds fails the config load with file, field and reason."""
    config = tmp_path / "runtime.yaml"
    definition: dict[str, JsonValue] = {"name": "p", "version": "1.0.0", **body}
    config.write_text(yaml.safe_dump({"policies": {"definitions": [definition]}}))
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_runtime_config(config)
    assert caught.value.file == str(config)
    assert str(caught.value.field).startswith("policies.definitions.0")
    assert reason in caught.value.reason


def test_policy_file_with_a_bad_entry_names_its_file_and_field(tmp_path: Path) -> None:
    """A bad policy in a policy file stops the load naming that file and the entry's field."""
    path = tmp_path / "policies.yaml"
    path.write_text(
        "policies:\n  - {name: p, version: 1.0.0, kind: retry, retry: {max_retries: 50}}\n"
    )
    with pytest.raises(PolicyRegistryError) as caught:
        build_policy_registry(ModelPolicySettings(files=[path]), allowlist=ALLOW)
    assert caught.value.file == str(path)
    assert caught.value.field == "policies.0"


def test_registration_after_freeze_is_refused_with_a_typed_error() -> None:
    """Once frozen (the runtime's start), the registry refuses every registration."""
    registry = build_policy_registry(ModelPolicySettings(definitions=[_retry()]), allowlist=ALLOW)
    assert registry.frozen
    with pytest.raises(PolicyRegistryFrozenError):
        registry.register(_retry("late"), source="test")
    assert "late@1.0.0" not in registry.entries()


def test_definitions_are_immutable() -> None:
    """A registered definition cannot be changed in place (frozen model)."""
    definition = _retry()
    with pytest.raises(ValidationError):
        definition.version = "9.9.9"  # type: ignore[misc]
    assert definition.retry is not None
    with pytest.raises(ValidationError):
        definition.retry.max_retries = 99  # type: ignore[misc]


def test_duplicate_version_with_different_content_is_refused() -> None:
    """name@version names one content: a second, different one is refused, the first kept."""
    registry = PolicyRegistry()
    registry.register(_retry(retries=2), source="a.yaml")
    with pytest.raises(PolicyConflictError) as caught:
        registry.register(_retry(retries=5), source="b.yaml")
    assert "a.yaml" in caught.value.reason
    kept = registry.entries()["std@1.0.0"].definition.retry
    assert kept is not None
    assert kept.max_retries == 2


def test_every_registration_is_logged_once_with_source_and_hash() -> None:
    """Each registration logs name, version, source and SHA-256 once; a repeat logs nothing."""
    registry = PolicyRegistry()
    with capture_logs() as logs:
        assert registry.register(_retry(), source="a.yaml")
        assert not registry.register(_retry(), source="a.yaml")
    (line,) = [log for log in logs if log["event"] == "policy registered"]
    assert line["policy"] == "std"
    assert line["version"] == "1.0.0"
    assert line["source"] == "a.yaml"
    assert line["sha256"] == _retry().content_hash()


def test_reference_resolves_the_highest_matching_version() -> None:
    """``name@1`` is the highest registered 1.x.y; ``name@1.0`` the highest 1.0.z."""
    registry = PolicyRegistry()
    for version in ("1.0.0", "1.0.3", "1.2.0", "2.0.0"):
        registry.register(_retry(version=version), source="t")
    kind = EnumPolicyKind.RETRY
    assert registry.resolve("std@1", kind, file=None, field="f").version == "1.2.0"
    assert registry.resolve("std@1.0", kind, file=None, field="f").version == "1.0.3"
    assert registry.resolve("std@2.0.0", kind, file=None, field="f").version == "2.0.0"


def test_reference_of_another_kind_is_refused() -> None:
    """A retry policy cannot stand where a timeout is expected."""
    registry = PolicyRegistry()
    registry.register(_retry(), source="t")
    with pytest.raises(PolicyRegistryError) as caught:
        registry.resolve("std@1", EnumPolicyKind.TIMEOUT, file="c.yaml", field="x")
    assert "is a retry policy, not timeout" in caught.value.reason

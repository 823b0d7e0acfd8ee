"""``event_bus.retry_policy``: the bus's failed-message routing from a YAML-declared routing
policy, resolved when the config loads, without importing any module."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from pydantic import JsonValue

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.runtime.config import load_runtime_config

_ROUTING: dict[str, JsonValue] = {
    "name": "fast-routing",
    "version": "1.0.0",
    "kind": "routing",
    "routing": {
        "max_attempts": 2,
        "outage_budget_seconds": 0,
        "base_delay_seconds": 0.1,
        "max_delay_seconds": 0.5,
    },
}


def _config(tmp_path: Path, values: dict[str, JsonValue]) -> Path:
    path = tmp_path / "runtime.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def test_retry_policy_replaces_the_bus_retry_settings(tmp_path: Path) -> None:
    """A routing policy from a policy file becomes event_bus.retry, as if written there."""
    policies = tmp_path / "policies.yaml"
    policies.write_text(yaml.safe_dump({"policies": [_ROUTING]}))
    path = _config(
        tmp_path,
        {"event_bus": {"retry_policy": "fast-routing@1"}, "policies": {"files": [str(policies)]}},
    )
    retry = load_runtime_config(path).event_bus.retry
    assert retry is not None
    assert (retry.max_attempts, retry.outage_budget_seconds, retry.max_delay_seconds) == (2, 0, 0.5)


def test_unknown_retry_policy_names_the_file_and_field(tmp_path: Path) -> None:
    """A retry_policy naming no declared routing policy stops the config load."""
    path = _config(
        tmp_path,
        {"event_bus": {"retry_policy": "fast-routing@2"}, "policies": {"definitions": [_ROUTING]}},
    )
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_runtime_config(path)
    assert caught.value.file == str(path)
    assert caught.value.field == "event_bus.retry_policy"
    assert "unknown policy fast-routing@2" in caught.value.reason


def test_retry_and_retry_policy_together_are_refused(tmp_path: Path) -> None:
    """Numbers and a policy for the same thing are ambiguous: one of the two."""
    path = _config(
        tmp_path,
        {
            "event_bus": {"retry_policy": "fast-routing@1", "retry": {"max_attempts": 3}},
            "policies": {"definitions": [_ROUTING]},
        },
    )
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_runtime_config(path)
    assert "not both" in caught.value.reason


def test_config_load_imports_no_policy_module(tmp_path: Path) -> None:
    """A routing policy only a module would give is unknown to the config: nothing imported."""
    root = tmp_path / "mods"
    root.mkdir()
    marker = root / "imported"
    (root / "polroute.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nONEX_POLICIES = [{_ROUTING!r}]\n"
    )
    sys.path.insert(0, str(root))
    try:
        path = _config(
            tmp_path,
            {
                "plugin_allowlist": ["polroute"],
                "event_bus": {"retry_policy": "fast-routing@1"},
                "policies": {"modules": ["polroute"]},
            },
        )
        with pytest.raises(ProtocolConfigurationError) as caught:
            load_runtime_config(path)
    finally:
        sys.path.remove(str(root))
    assert "unknown policy" in caught.value.reason
    assert not marker.exists()


@pytest.mark.parametrize(
    ("routing", "reason"),
    [
        ({"max_delay_seconds": 900}, "at most 300"),
        ({"max_attempts": 50}, "less than or equal to 10"),
        ({"base_delay_seconds": 9, "max_delay_seconds": 2}, "must not exceed max_delay_seconds"),
    ],
)
def test_routing_values_out_of_bounds_are_refused(
    tmp_path: Path, routing: dict[str, JsonValue], reason: str
) -> None:
    """A routing policy beyond the bounds fails the config load naming the definition."""
    definition = {**_ROUTING, "routing": routing}
    path = _config(tmp_path, {"policies": {"definitions": [definition]}})
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_runtime_config(path)
    assert str(caught.value.field).startswith("policies.definitions.0")
    assert reason in caught.value.reason

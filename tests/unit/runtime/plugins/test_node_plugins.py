"""Node plugins: found through their entry point, their settings validated by their own model
under ``nodes.<name>`` (or the older top-level key), errors naming file, field and reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.handlers.postgres.model_postgres_settings import ModelPostgresSettings
from omnibase_infra.nodes.node_registry_effect.storage import RegistrationStorage
from omnibase_infra.nodes.registration.models.model_registration_settings import (
    ModelRegistrationSettings,
)
from omnibase_infra.nodes.registration.plugin import PLUGIN, REGISTRATION_NODES
from omnibase_infra.runtime.config import ModelRuntimeConfig, load_runtime_config
from omnibase_infra.runtime.plugins.node_plugins import discover_node_plugins


def _settings(config: ModelRuntimeConfig) -> ModelRegistrationSettings:
    (settings,) = [s for p, s in config.node_settings() if p.name == "registration"]
    assert isinstance(settings, ModelRegistrationSettings)
    return settings


def _file(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "runtime.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_registration_plugin_is_found_through_its_entry_point() -> None:
    """The installed package publishes registration in the onex.node_plugins group."""
    assert PLUGIN in discover_node_plugins()


def test_plugins_outside_the_allowlist_are_not_loaded() -> None:
    """An allowlist that does not trust the package loads none of its plugins."""
    assert discover_node_plugins(("somebody_else",)) == ()


def test_nodes_section_and_top_level_key_both_configure_the_plugin(tmp_path: Path) -> None:
    """nodes.registration and the older top-level registration: give the same settings."""
    nested = load_runtime_config(
        _file(tmp_path, {"nodes": {"registration": {"tick_interval_seconds": 0.5}}})
    )
    top = load_runtime_config(_file(tmp_path, {"registration": {"tick_interval_seconds": 0.5}}))
    assert _settings(nested).tick_interval_seconds == 0.5
    assert _settings(top) == _settings(nested)
    assert _settings(ModelRuntimeConfig()) == ModelRegistrationSettings()


def test_unknown_setting_names_file_field_and_reason(tmp_path: Path) -> None:
    """A key the plugin's model does not know fails with the file, the field as written."""
    path = _file(tmp_path, {"registration": {"stale_after_secs": 3}})
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_runtime_config(path)
    assert caught.value.file == str(path)
    assert caught.value.field == "registration.stale_after_secs"
    assert "Extra inputs are not permitted" in caught.value.reason
    path = _file(tmp_path, {"nodes": {"registration": {"expire_after_seconds": -1}}})
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_runtime_config(path)
    assert (caught.value.file, caught.value.field) == (
        str(path),
        "nodes.registration.expire_after_seconds",
    )


def test_a_bad_setting_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ONEX_NODES__REGISTRATION__... is read, and a bad value is reported against it."""
    monkeypatch.setenv("ONEX_NODES__REGISTRATION__TICK_INTERVAL_SECONDS", "0")
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_runtime_config(None)
    assert caught.value.field == "nodes.registration.tick_interval_seconds"
    assert (
        caught.value.file == "environment variable ONEX_NODES__REGISTRATION__TICK_INTERVAL_SECONDS"
    )


def test_a_section_no_plugin_owns_is_refused(tmp_path: Path) -> None:
    """nodes.<name> naming no installed plugin fails, listing the installed ones."""
    path = _file(tmp_path, {"nodes": {"registratoin": {}}})
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_runtime_config(path)
    assert caught.value.field == "nodes.registratoin"
    assert "registration" in caught.value.reason.split("installed: ")[1]


def test_the_same_settings_given_twice_are_refused(tmp_path: Path) -> None:
    """nodes.registration and registration: together are ambiguous: refused."""
    path = _file(tmp_path, {"registration": {}, "nodes": {"registration": {}}})
    with pytest.raises(ProtocolConfigurationError, match="given twice"):
        load_runtime_config(path)


def test_build_shares_one_storage_and_the_settings_through_the_container() -> None:
    """With PostgreSQL the plugin adds its settings and one storage as services, and asks for
    the clock at its tick interval; without, its nodes are unavailable, the clock still asked."""
    settings = ModelRegistrationSettings(tick_interval_seconds=0.5)
    postgres = HandlerPostgres(ModelPostgresSettings(database="onex", user="onex"))
    build = PLUGIN.build(settings, {HandlerPostgres: postgres})
    assert build.unavailable is None
    assert build.services[ModelRegistrationSettings] is settings
    assert isinstance(build.services[RegistrationStorage], RegistrationStorage)
    assert [c.name for c in build.components] == ["registration"]
    assert build.tick_interval_seconds == 0.5
    missing = PLUGIN.build(settings, {})
    assert missing.unavailable is not None
    assert "postgres" in missing.unavailable
    assert (missing.services, missing.components, missing.tick_interval_seconds) == ({}, [], 0.5)
    assert PLUGIN.nodes == REGISTRATION_NODES

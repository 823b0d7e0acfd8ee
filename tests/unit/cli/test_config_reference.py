"""docs/configuration.md is what `onex-infra config docs` generates from the config model."""

from __future__ import annotations

from pathlib import Path

from omnibase_infra.cli.config_reference import render_config_reference
from omnibase_infra.runtime.config import ModelRuntimeConfig

DOC = Path(__file__).parents[3] / "docs" / "configuration.md"


def test_configuration_reference_is_current() -> None:
    """The committed reference equals the generated one (regenerate with
    `onex-infra config docs > docs/configuration.md`)."""
    assert DOC.read_text(encoding="utf-8") == render_config_reference(ModelRuntimeConfig)


def test_reference_names_every_leaf_setting_with_its_variable() -> None:
    """Each setting appears with its YAML key and ONEX_ variable, nested keys joined by __."""
    text = render_config_reference(ModelRuntimeConfig)
    assert "| `http.port` | `ONEX_HTTP__PORT` | int | `8085` |" in text
    kafka = "`event_bus.kafka.bootstrap_servers` | `ONEX_EVENT_BUS__KAFKA__BOOTSTRAP_SERVERS`"
    assert kafka in text
    assert '| `profile` | `ONEX_PROFILE` | "local" \\| "production" | `local` |' in text
    assert "## `event_bus.retry`" in text

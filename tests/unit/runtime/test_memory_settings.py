"""The memory bounds in the runtime config: the in-memory bus's byte bounds under
``event_bus:`` and the registration cache under ``nodes.registration``, a bad value naming the
file, the field and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.runtime.config import load_runtime_config


def _file(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "runtime.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_the_bounds_are_read_from_the_file(tmp_path: Path) -> None:
    """Byte capacity, byte retention, publish timeout and cache size come from the file."""
    config = load_runtime_config(
        _file(
            tmp_path,
            {
                "event_bus": {
                    "capacity_bytes": 4096,
                    "retention_bytes": 0,
                    "publish_timeout_seconds": None,
                },
                "nodes": {"registration": {"cache_size": 7}},
            },
        )
    )
    assert config.event_bus.capacity_bytes == 4096
    assert config.event_bus.retention_bytes == 0
    assert config.event_bus.publish_timeout_seconds is None
    (registration,) = [s for p, s in config.node_settings() if p.name == "registration"]
    assert registration.model_dump()["cache_size"] == 7


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"event_bus": {"capacity_bytes": 10}}, "event_bus.capacity_bytes", "greater than or"),
        ({"event_bus": {"retention_bytes": -1}}, "event_bus.retention_bytes", "greater than or"),
        (
            {"event_bus": {"publish_timeout_seconds": 0}},
            "event_bus.publish_timeout_seconds",
            "greater than 0",
        ),
        (
            {"nodes": {"registration": {"cache_size": 0}}},
            "nodes.registration.cache_size",
            "greater than or",
        ),
    ],
)
def test_a_bad_bound_names_file_field_and_reason(
    tmp_path: Path, data: dict[str, object], field: str, reason: str
) -> None:
    """A byte bound, timeout or cache size out of range fails with the file, field, reason."""
    path = _file(tmp_path, data)
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_runtime_config(path)
    assert (caught.value.file, caught.value.field) == (str(path), field)
    assert reason in caught.value.reason

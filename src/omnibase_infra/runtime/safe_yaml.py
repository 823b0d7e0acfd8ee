"""YAML for contracts and config: safe constructors only, no duplicate keys, bounded size."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import JsonValue

from omnibase_infra.errors import ProtocolConfigurationError

__all__ = ["MAX_YAML_BYTES", "load_yaml_mapping"]

MAX_YAML_BYTES = 1024 * 1024


class _StrictSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate mapping keys instead of keeping the last."""


def _construct_mapping(loader: _StrictSafeLoader, node: yaml.MappingNode) -> dict[object, object]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictSafeLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def load_yaml_mapping(path: Path, *, max_bytes: int = MAX_YAML_BYTES) -> dict[str, JsonValue]:
    """Load a YAML file whose top level is a mapping; errors name the file, line and reason."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ProtocolConfigurationError(
                f"file is {size} bytes, more than the {max_bytes} allowed", file=str(path)
            )
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProtocolConfigurationError(
            f"cannot read: {exc.strerror or type(exc).__name__}", file=str(path)
        ) from exc
    except UnicodeDecodeError as exc:
        raise ProtocolConfigurationError("not UTF-8 text", file=str(path)) from exc
    try:
        data: object = yaml.load(text, Loader=_StrictSafeLoader)  # noqa: S506 - safe subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ProtocolConfigurationError(
            f"{where}{exc.problem or 'invalid YAML'}"
            + (" (only plain YAML is accepted: no tags)" if "tag" in str(exc.problem) else ""),
            file=str(path),
        ) from None
    except yaml.YAMLError as exc:
        raise ProtocolConfigurationError(f"invalid YAML: {exc}", file=str(path)) from None
    if not isinstance(data, dict):
        raise ProtocolConfigurationError(
            f"top level must be a mapping, not {type(data).__name__}", file=str(path)
        )
    return {str(key): value for key, value in data.items()}

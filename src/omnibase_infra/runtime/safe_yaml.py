"""YAML for contracts and config: safe constructors only, no duplicate keys, bounded size.

Only regular files are read: a FIFO or a device named like a contract would block the read (a
FIFO until someone writes to it) or never end (``/dev/zero``), so it is refused with the file
and the reason, without being read. The file is opened non-blocking and checked on the open
descriptor, so swapping the path between check and read changes nothing.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Hashable
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import JsonValue

from omnibase_infra.errors import ProtocolConfigurationError

__all__ = ["MAX_YAML_BYTES", "load_yaml_mapping", "not_regular_reason", "read_regular_file"]

MAX_YAML_BYTES = 1024 * 1024


# libyaml's parser when PyYAML was built with it (its wheels are): the same safe constructors,
# parsing ~6x faster. A Kafka runtime reads every contract before its consumer groups begin
# joining, so the parse is on the boot's critical path. Its messages differ in wording only.
if TYPE_CHECKING:
    _SafeBase = yaml.SafeLoader  # the same interface
else:
    _SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictSafeLoader(_SafeBase):
    """A safe loader that refuses duplicate mapping keys instead of keeping the last."""


def _construct_mapping(loader: _StrictSafeLoader, node: yaml.MappingNode) -> dict[object, object]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable) or isinstance(key, tuple):
            # A list or mapping as a key (``? [a, b]``, ``{a: 1}: x``): no setting is named so.
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found a {type(key).__name__} used as a key; keys must be plain scalars",
                key_node.start_mark,
            )
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


def not_regular_reason(mode: int) -> str | None:
    """Why a file of ``mode`` is not read (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    kinds = (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    )
    kind = next((name for test, name in kinds if test(mode)), "not a regular file")
    return f"is {kind}, not a regular file: refused without reading"


def read_regular_file(path: Path, *, max_bytes: int = MAX_YAML_BYTES) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``max_bytes``; else a
    ``ProtocolConfigurationError`` naming the file and the reason (never blocks)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ProtocolConfigurationError(
            f"cannot read: {exc.strerror or type(exc).__name__}", file=str(path)
        ) from exc
    try:
        info = os.fstat(fd)
        reason = not_regular_reason(info.st_mode)
        if reason is not None:
            raise ProtocolConfigurationError(reason, file=str(path))
        if info.st_size > max_bytes:
            raise ProtocolConfigurationError(
                f"file is {info.st_size} bytes, more than the {max_bytes} allowed", file=str(path)
            )
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(max_bytes + 1)
    except OSError as exc:
        raise ProtocolConfigurationError(
            f"cannot read: {exc.strerror or type(exc).__name__}", file=str(path)
        ) from exc
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # it grew since fstat
        raise ProtocolConfigurationError(
            f"file is more than the {max_bytes} bytes allowed", file=str(path)
        )
    return data


def load_yaml_mapping(path: Path, *, max_bytes: int = MAX_YAML_BYTES) -> dict[str, JsonValue]:
    """Load a YAML file whose top level is a mapping; errors name the file, line and reason."""
    try:
        text = read_regular_file(path, max_bytes=max_bytes).decode("utf-8")
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

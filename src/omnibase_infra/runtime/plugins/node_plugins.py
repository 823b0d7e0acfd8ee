"""Finds the installed node plugins and validates each one's settings with its own model.

Plugins are objects published in the ``onex.node_plugins`` entry point group (a package that
ships nodes declares one next to its ``onex.nodes`` entry). Only plugins whose module lies
inside the import allowlist are loaded, as for contracts. The runtime config holds each
plugin's settings under ``nodes.<plugin name>``; the runtime validates the section with the
plugin's ``settings_model`` and knows nothing else about it.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, JsonValue, ValidationError

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.runtime.contracts.plugin_loader import DEFAULT_ALLOWLIST, check_module_allowed
from omnibase_infra.runtime.plugins.protocol_node_plugin import ProtocolNodePlugin
from omnibase_infra.validation_errors import first_validation_error

__all__ = [
    "NODE_PLUGIN_GROUP",
    "discover_node_plugins",
    "node_sections_at_the_top",
    "validate_node_settings",
]

NODE_PLUGIN_GROUP = "onex.node_plugins"


def discover_node_plugins(
    allowlist: Sequence[str] = DEFAULT_ALLOWLIST,
) -> tuple[ProtocolNodePlugin, ...]:
    """The allowlisted node plugins installed, by name (loaded once per allowlist)."""
    return _discover(tuple(allowlist))


@functools.cache
def _discover(allowlist: tuple[str, ...]) -> tuple[ProtocolNodePlugin, ...]:
    plugins: dict[str, ProtocolNodePlugin] = {}
    for entry in importlib.metadata.entry_points(group=NODE_PLUGIN_GROUP):
        where = f"entry point {entry.name}"
        try:
            check_module_allowed(entry.module, allowlist, where=where)
        except ProtocolConfigurationError:
            continue  # not trusted: as for contracts, simply not loaded
        try:
            plugin: object = entry.load()
        except Exception as exc:
            raise ProtocolConfigurationError(
                f"cannot load node plugin {entry.value}: {type(exc).__name__}",
                field=NODE_PLUGIN_GROUP,
            ) from None
        if not isinstance(plugin, ProtocolNodePlugin):
            raise ProtocolConfigurationError(
                f"{entry.value} is not a node plugin (name, settings_model, nodes, build)",
                field=NODE_PLUGIN_GROUP,
            )
        if plugin.name in plugins:
            raise ProtocolConfigurationError(
                f"two node plugins are named {plugin.name!r}", field=NODE_PLUGIN_GROUP
            )
        plugins[plugin.name] = plugin
    return tuple(plugins[name] for name in sorted(plugins))


def node_sections_at_the_top(data: Mapping[str, object], fields: set[str]) -> dict[str, object]:
    """The top-level keys of a raw config that are not runtime settings but name a plugin.

    A plugin's section may be written at the top level under its name (``registration:``,
    the form before ``nodes:``); the plugins are those ``data``'s allowlist trusts.
    """
    strangers = [key for key in data if key not in fields]
    if not strangers:
        return {}
    extra = data.get("plugin_allowlist")
    allowlist = [*DEFAULT_ALLOWLIST]
    if isinstance(extra, list):
        allowlist.extend(item for item in extra if isinstance(item, str))
    names = {plugin.name for plugin in discover_node_plugins(allowlist)}
    return {key: data[key] for key in strangers if key in names}


def validate_node_settings(
    sections: Mapping[str, Mapping[str, JsonValue]],
    plugins: Sequence[ProtocolNodePlugin],
    *,
    file: str | None = None,
    prefix: Mapping[str, str] | None = None,
) -> list[tuple[ProtocolNodePlugin, BaseModel]]:
    """Each plugin with its settings (its section validated, or its defaults).

    ``prefix`` maps a plugin name to where its section was written (default
    ``nodes.<name>``). Raises ``ProtocolConfigurationError`` naming the file, the field and
    the reason for a section no plugin owns or a setting its model refuses.
    """
    by_name = {plugin.name: plugin for plugin in plugins}
    where = dict(prefix or {})
    for name in sections:
        if name not in by_name:
            installed = ", ".join(by_name) or "none"
            raise ProtocolConfigurationError(
                f"no installed node plugin is named {name!r} (installed: {installed})",
                file=file,
                field=where.get(name, f"nodes.{name}"),
            )
    validated: list[tuple[ProtocolNodePlugin, BaseModel]] = []
    for plugin in plugins:
        try:
            settings = plugin.settings_model.model_validate(dict(sections.get(plugin.name, {})))
        except ValidationError as exc:
            field, reason = first_validation_error(exc)
            section = where.get(plugin.name, f"nodes.{plugin.name}")
            raise ProtocolConfigurationError(
                reason, file=file, field=f"{section}.{field}" if field else section
            ) from None
        validated.append((plugin, settings))
    return validated

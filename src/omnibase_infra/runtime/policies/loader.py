"""Builds the frozen ``PolicyRegistry`` from the config's ``policies`` section.

Sources, in this order: ``policies.definitions`` (validated with the config),
``policies.files`` (YAML, read with the strict safe loader), ``policies.modules`` (imported
only when inside the policy allowlist, which is checked before the import; a module gives data,
``ONEX_POLICIES``, never a class or a function to call). Any bad policy raises
``PolicyRegistryError`` naming the file or module, the field and the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from omnibase_infra._core import ModelOnexError
from omnibase_infra.runtime.contracts.plugin_loader import load_module
from omnibase_infra.runtime.policies.errors import PolicyRegistryError
from omnibase_infra.runtime.policies.model_policy_definition import ModelPolicyDefinition
from omnibase_infra.runtime.policies.model_policy_settings import ModelPolicySettings
from omnibase_infra.runtime.policies.registry import PolicyRegistry
from omnibase_infra.runtime.safe_yaml import load_yaml_mapping
from omnibase_infra.validation_errors import first_validation_error

__all__ = ["MODULE_EXPORT", "build_policy_registry", "read_policy_file"]

MODULE_EXPORT = "ONEX_POLICIES"


class _ModelPolicyFile(BaseModel):
    """A policy file: ``policies: [...]``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    policies: list[ModelPolicyDefinition] = Field(default_factory=list)


def build_policy_registry(
    settings: ModelPolicySettings,
    *,
    allowlist: Sequence[str],
    config_file: str | None = None,
) -> PolicyRegistry:
    """Every configured policy registered (each logged once), the registry frozen.

    ``allowlist`` is the plugin allowlist, used when ``settings.allowlist`` is not given.
    """
    registry = PolicyRegistry()
    source = config_file or "runtime config"
    for index, definition in enumerate(settings.definitions):
        registry.register(definition, source=source, field=f"policies.definitions.{index}")
    for path in settings.files:
        for index, definition in enumerate(read_policy_file(path)):
            registry.register(definition, source=str(path), field=f"policies.{index}")
    trusted = settings.allowlist if settings.allowlist is not None else allowlist
    for index, module in enumerate(settings.modules):
        field = f"policies.modules.{index}"
        for definition in _from_module(module, trusted, field=field, file=config_file):
            registry.register(definition, source=f"module {module}", field=field)
    registry.freeze()
    return registry


def read_policy_file(path: Path) -> list[ModelPolicyDefinition]:
    """The policies of one YAML file; a bad one raises naming the file and the field."""
    data = load_yaml_mapping(path)
    try:
        return _ModelPolicyFile.model_validate(data).policies
    except ValidationError as exc:
        field, reason = first_validation_error(exc)
        raise PolicyRegistryError(reason, file=str(path), field=field) from None
    except ModelOnexError as exc:  # core's subcontract validators raise their own error
        raise PolicyRegistryError(str(exc.message), file=str(path), field="policies") from None


def _from_module(
    module: str, allowlist: Sequence[str], *, field: str, file: str | None
) -> list[ModelPolicyDefinition]:
    """The ``ONEX_POLICIES`` a module exports: policy definitions (or mappings of one)."""
    loaded = load_module(module, allowlist, where=field, file=file)
    exported: object = getattr(loaded, MODULE_EXPORT, None)
    if not isinstance(exported, list | tuple):
        raise PolicyRegistryError(
            f"module {module} exports no {MODULE_EXPORT} list of policy definitions",
            file=file,
            field=field,
        )
    found: list[ModelPolicyDefinition] = []
    for index, item in enumerate(exported):
        where = f"{module}.{MODULE_EXPORT}.{index}"
        if isinstance(item, ModelPolicyDefinition):
            # Validated again: an instance made with model_construct skipped every check.
            item = item.model_dump(mode="json", warnings=False)
        if not isinstance(item, dict):
            raise PolicyRegistryError(
                f"{where} is a {type(item).__name__}; policies are data (a definition or a "
                "mapping), never code",
                file=file,
                field=field,
            )
        try:
            found.append(ModelPolicyDefinition.model_validate(item))
        except ValidationError as exc:
            inner, reason = first_validation_error(exc)
            raise PolicyRegistryError(reason, file=file, field=f"{where}.{inner}") from None
        except ModelOnexError as exc:
            raise PolicyRegistryError(str(exc.message), file=file, field=where) from None
    return found

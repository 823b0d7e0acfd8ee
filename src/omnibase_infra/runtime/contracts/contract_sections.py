"""The sections of a contract that core's contract models have no place for.

Each is popped from the parsed YAML and validated here before core validates the rest:
``handler_config`` (settings of the node's handlers), ``error_handling`` (an EFFECT's retry,
breaker and timeout, its policy references resolved) and ``fsm_binding`` (a REDUCER run by its
FSM). Errors name the file, the field and the reason.
"""

from __future__ import annotations

from pydantic import JsonValue

from omnibase_infra._core import EnumNodeKind
from omnibase_infra.declarative.model_fsm_binding import FSM_BINDING_SECTION, ModelFsmBinding
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.resilience.effect.model_effect_policy import ModelEffectPolicy
from omnibase_infra.runtime.policies.references import resolve_policy_references
from omnibase_infra.runtime.policies.registry import PolicyRegistry

__all__ = ["pop_effect_policy", "pop_fsm_binding", "pop_handler_config"]


def pop_handler_config(data: dict[str, JsonValue], file: str) -> dict[str, JsonValue] | None:
    """Pop the ``handler_config`` section: settings of the node's handlers (a mapping).

    Core's contract models have no place for it; the handler class that takes it validates it
    with its ``config_model`` when the runtime wires the node (``node_wiring``).
    """
    section = data.pop("handler_config", None)
    if section is not None and not isinstance(section, dict):
        raise ProtocolConfigurationError("must be a mapping", file=file, field="handler_config")
    return section


def pop_effect_policy(
    data: dict[str, JsonValue],
    archetype: EnumNodeKind,
    file: str,
    policies: PolicyRegistry | None,
) -> tuple[ModelEffectPolicy | None, dict[str, str]]:
    """Pop and validate the ``error_handling`` section (EFFECT contracts only), its policy
    references resolved in ``policies``; also ``{field: name@version}`` of those references.

    Core's effect contract has no place for it, so it is removed before core validates the
    rest; it is made of core's retry and circuit-breaker subcontracts.
    """
    section = data.pop("error_handling", None)
    if archetype is not EnumNodeKind.EFFECT:
        if section is not None:
            raise ProtocolConfigurationError(
                f"only EFFECT contracts take error_handling, not {archetype.value}",
                file=file,
                field="error_handling",
            )
        return None, {}
    if section is None:
        return ModelEffectPolicy.from_contract_section(None, file=file), {}
    if not isinstance(section, dict):
        raise ProtocolConfigurationError("must be a mapping", file=file, field="error_handling")
    resolved, used = resolve_policy_references(section, _or_empty(policies), file=file)
    return ModelEffectPolicy.from_contract_section(resolved, file=file), used


def _or_empty(policies: PolicyRegistry | None) -> PolicyRegistry:
    """``policies``, else an empty frozen registry (every reference is then unknown)."""
    if policies is not None:
        return policies
    empty = PolicyRegistry()
    empty.freeze()
    return empty


def pop_fsm_binding(
    data: dict[str, JsonValue], archetype: EnumNodeKind, file: str
) -> ModelFsmBinding | None:
    """Pop and validate ``fsm_binding`` (REDUCER contracts run by their FSM; core has no
    place for it, so it is removed before core validates the rest)."""
    section = data.pop(FSM_BINDING_SECTION, None)
    if section is None:
        return None
    if archetype is not EnumNodeKind.REDUCER:
        raise ProtocolConfigurationError(
            f"only REDUCER contracts take {FSM_BINDING_SECTION}, not {archetype.value}",
            file=file,
            field=FSM_BINDING_SECTION,
        )
    return ModelFsmBinding.from_section(section, file=file)

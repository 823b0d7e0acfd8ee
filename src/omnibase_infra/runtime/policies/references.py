"""Policy references in a contract's ``error_handling``: ``{policy: name@version}``.

::

    error_handling:
      retry: {policy: standard-retry@1}          # core's retry subcontract from the registry
      circuit_breaker: {policy: shared-breaker@1}
      timeout: {policy: fast-timeout@1}          # timeout_seconds and max_elapsed_seconds

A reference is replaced by the registered policy's body before the section is validated, so
the effect runs exactly as if the numbers were written there. A reference is a name looked up
in the frozen registry, never a module path: nothing is imported because a contract (or a
message) named it.
"""

from __future__ import annotations

from pydantic import BaseModel, JsonValue

from omnibase_infra.runtime.policies.enum_policy_kind import EFFECT_POLICY_KINDS, EnumPolicyKind
from omnibase_infra.runtime.policies.errors import PolicyRegistryError
from omnibase_infra.runtime.policies.model_timeout_policy import ModelTimeoutPolicy
from omnibase_infra.runtime.policies.registry import PolicyRegistry

__all__ = ["REFERENCE_KEY", "resolve_policy_references"]

REFERENCE_KEY = "policy"
_SECTION = "error_handling"


def resolve_policy_references(
    section: dict[str, JsonValue], registry: PolicyRegistry, *, file: str | None
) -> tuple[dict[str, JsonValue | BaseModel], dict[str, str]]:
    """``section`` with each reference replaced, and ``{field: name@version}`` of those used.

    Raises ``PolicyRegistryError`` naming the file and field of a malformed, unknown or
    mis-kinded reference, or of a reference mixed with the numbers it stands for.
    """
    resolved: dict[str, JsonValue | BaseModel] = dict(section)
    used: dict[str, str] = {}
    for kind in EFFECT_POLICY_KINDS:
        key = kind.value
        if key not in section:
            continue
        value = section[key]
        field = f"{_SECTION}.{key}"
        is_reference = isinstance(value, dict) and REFERENCE_KEY in value
        if not is_reference:
            if kind is EnumPolicyKind.TIMEOUT:
                raise PolicyRegistryError(
                    f"takes a policy reference ({{{REFERENCE_KEY}: name@version}}); write the "
                    "numbers as timeout_seconds and max_elapsed_seconds instead",
                    file=file,
                    field=field,
                )
            continue
        assert isinstance(value, dict)
        reference = value[REFERENCE_KEY]
        if set(value) != {REFERENCE_KEY} or not isinstance(reference, str):
            raise PolicyRegistryError(
                f"a policy reference is {{{REFERENCE_KEY}: name@version}} alone; the policy "
                "holds the numbers",
                file=file,
                field=field,
            )
        definition = registry.resolve(reference, kind, file=file, field=f"{field}.{REFERENCE_KEY}")
        used[field] = definition.policy_id
        body = definition.body()
        if isinstance(body, ModelTimeoutPolicy):
            del resolved[key]
            _apply_timeout(resolved, body, file=file, field=field)
        else:
            resolved[key] = body
    return resolved, used


def _apply_timeout(
    section: dict[str, JsonValue | BaseModel],
    body: ModelTimeoutPolicy,
    *,
    file: str | None,
    field: str,
) -> None:
    """Write a timeout policy's numbers into ``section``; both given is ambiguous, refused."""
    for name in ("timeout_seconds", "max_elapsed_seconds"):
        if name in section:
            raise PolicyRegistryError(
                f"{_SECTION}.{name} and a timeout policy both given; give one",
                file=file,
                field=field,
            )
    section["timeout_seconds"] = body.timeout_seconds
    if body.max_elapsed_seconds is not None:
        section["max_elapsed_seconds"] = body.max_elapsed_seconds

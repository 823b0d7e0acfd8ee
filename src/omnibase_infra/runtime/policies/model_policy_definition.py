"""``ModelPolicyDefinition``: one named, versioned policy, as written in YAML or a module.

::

    name: standard-http          # lower case, digits and '-': never a module path
    version: 1.0.0               # semantic version; contracts refer to it as standard-http@1
    kind: retry                  # retry | circuit_breaker | timeout | routing
    retry: {max_retries: 2, base_delay_seconds: 0.2}

The body under the key named by ``kind`` is core's subcontract for ``retry`` and
``circuit_breaker`` (its ``version`` may be left out), ``ModelTimeoutPolicy`` for ``timeout``
and the bus's ``ModelRetrySettings`` for ``routing``. On top of their own bounds a policy is
held to the runtime's (``_BOUNDS``): a registry entry every effect may share must not allow a
retry storm or an hour-long attempt.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from omnibase_infra._core import (
    ModelCircuitBreakerSubcontract,
    ModelOnexError,
    ModelRetrySubcontract,
)
from omnibase_infra.dispatch.model_retry_settings import ModelRetrySettings
from omnibase_infra.runtime.policies.enum_policy_kind import EnumPolicyKind
from omnibase_infra.runtime.policies.model_timeout_policy import ModelTimeoutPolicy

__all__ = ["POLICY_NAME_PATTERN", "ModelPolicyDefinition", "parse_reference"]

POLICY_NAME_PATTERN = r"[a-z][a-z0-9-]{0,62}"
_SEMVER = r"^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$"
# (section, field) -> the largest value a registered policy may hold.
_BOUNDS: dict[tuple[str, str], float] = {
    ("retry", "max_retries"): 10,
    ("retry", "max_delay_seconds"): 300,
    ("retry", "base_delay_seconds"): 60,
    ("retry", "timeout_per_attempt_seconds"): 600,
    ("routing", "max_delay_seconds"): 300,
}
_SUBCONTRACT_VERSION = {"major": 1, "minor": 0, "patch": 0}


class ModelFrozenRetrySubcontract(ModelRetrySubcontract):
    """Core's retry subcontract, immutable: one instance is shared by every referring effect."""

    model_config = ConfigDict(frozen=True)


class ModelFrozenCircuitBreakerSubcontract(ModelCircuitBreakerSubcontract):
    """Core's circuit-breaker subcontract, immutable (shared like the retry body)."""

    model_config = ConfigDict(frozen=True)


_BODIES: dict[str, type[BaseModel]] = {
    "retry": ModelFrozenRetrySubcontract,
    "circuit_breaker": ModelFrozenCircuitBreakerSubcontract,
    "routing": ModelRetrySettings,
}
_VERSIONED = frozenset({"retry", "circuit_breaker"})


def _core_rules(key: str, model: type[BaseModel], body: dict[str, object]) -> None:
    """Core's (and the bus settings') cross-field rules raise their own error, which pydantic
    would not catch: turn it into a ValueError so the config names the field. Field errors are
    left to pydantic."""
    try:
        model.model_validate(body)
    except ValidationError:
        return
    except ModelOnexError as exc:
        raise ValueError(f"{key}: {exc.message}") from None


class ModelPolicyDefinition(BaseModel):
    """A policy: its name, version and kind, and the body of that kind (and no other)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=f"^{POLICY_NAME_PATTERN}$", description="The policy's name.")
    version: str = Field(pattern=_SEMVER, description="Semantic version, e.g. 1.0.0.")
    kind: EnumPolicyKind = Field(description="retry, circuit_breaker, timeout or routing.")
    description: str = Field(default="", max_length=500)
    retry: ModelFrozenRetrySubcontract | None = Field(
        default=None, description="kind retry: core's retry subcontract (version optional)."
    )
    circuit_breaker: ModelFrozenCircuitBreakerSubcontract | None = Field(
        default=None,
        description="kind circuit_breaker: core's circuit-breaker subcontract (version optional).",
    )
    timeout: ModelTimeoutPolicy | None = Field(
        default=None, description="kind timeout: timeout_seconds, max_elapsed_seconds."
    )
    routing: ModelRetrySettings | None = Field(
        default=None,
        description="kind routing: the bus's failed-message retries (like event_bus.retry).",
    )

    @model_validator(mode="before")
    @classmethod
    def _subcontract_version(cls, data: object) -> object:
        """Core's subcontracts require a version; a policy's own version says enough."""
        if not isinstance(data, dict):
            return data
        patched = dict(data)
        for key, model in _BODIES.items():
            body = patched.get(key)
            if not isinstance(body, dict):
                continue
            if key in _VERSIONED and "version" not in body:
                body = patched[key] = {"version": _SUBCONTRACT_VERSION, **body}
            _core_rules(key, model, body)
        return patched

    @model_validator(mode="after")
    def _one_body_in_bounds(self) -> Self:
        """Exactly the body ``kind`` names is given, and it is within the runtime's bounds."""
        given = [kind for kind in EnumPolicyKind if getattr(self, kind.value) is not None]
        if given != [self.kind]:
            raise ValueError(
                f"a {self.kind.value} policy takes a '{self.kind.value}' section and no other "
                f"(given: {', '.join(k.value for k in given) or 'none'})"
            )
        for (section, field), bound in _BOUNDS.items():
            body = getattr(self, section)
            value = None if body is None else getattr(body, field)
            if isinstance(value, int | float) and value > bound:
                raise ValueError(
                    f"{section}.{field} is {value}; a registered policy allows at most {bound}"
                )
        return self

    @property
    def policy_id(self) -> str:
        """``name@version``, the key it is registered under."""
        return f"{self.name}@{self.version}"

    @property
    def version_parts(self) -> tuple[int, int, int]:
        """The version as numbers (for ordering and prefix matching)."""
        major, minor, patch = (int(part) for part in self.version.split("."))
        return major, minor, patch

    def body(self) -> BaseModel:
        """The section ``kind`` names (validated: never None)."""
        found: BaseModel | None = getattr(self, self.kind.value)
        assert found is not None  # _one_body_in_bounds
        return found

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of the definition: what 'same content' means."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


_REFERENCE = re.compile(rf"({POLICY_NAME_PATTERN})@(\d{{1,6}})(?:\.(\d{{1,6}}))?(?:\.(\d{{1,6}}))?")


def parse_reference(reference: str) -> tuple[str, tuple[int, ...]] | None:
    """``name@1``, ``name@1.2`` or ``name@1.2.3`` as (name, version prefix); None if not one."""
    match = _REFERENCE.fullmatch(reference)
    if match is None:
        return None
    parts = tuple(int(part) for part in match.groups()[1:] if part is not None)
    return match.group(1), parts

"""``PolicyRegistry``: policies by ``name@version``, registered at start, then frozen.

Registration logs each policy once (name, version, kind, source, SHA-256 of its content). The
same ``name@version`` registered again with the same content is a no-op (a file listed twice);
with a different content it is refused (``PolicyConflictError``): a version names one content.
After ``freeze()`` (the runtime calls it before loading contracts) every registration raises
``PolicyRegistryFrozenError``, so what contracts resolved against is what runs.
"""

from __future__ import annotations

from types import MappingProxyType

from omnibase_infra.observability.logging import get_logger
from omnibase_infra.runtime.policies.enum_policy_kind import EnumPolicyKind
from omnibase_infra.runtime.policies.errors import (
    PolicyConflictError,
    PolicyRegistryError,
    PolicyRegistryFrozenError,
)
from omnibase_infra.runtime.policies.model_policy_definition import (
    ModelPolicyDefinition,
    parse_reference,
)
from omnibase_infra.runtime.policies.model_policy_entry import ModelPolicyEntry

__all__ = ["PolicyRegistry"]

_log = get_logger(__name__)


class PolicyRegistry:
    """Named, versioned policies; read-only once frozen."""

    def __init__(self, *, log: bool = True) -> None:
        """``log=False``: a scratch registry (the config's own look-ups) that logs nothing."""
        self._entries: dict[str, ModelPolicyEntry] = {}
        self._frozen = False
        self._log = log

    @property
    def frozen(self) -> bool:
        """True once ``freeze`` was called: no registration is accepted any more."""
        return self._frozen

    def freeze(self) -> None:
        """Refuse every later registration."""
        self._frozen = True

    def register(
        self, definition: ModelPolicyDefinition, *, source: str, field: str | None = None
    ) -> bool:
        """Register ``definition`` from ``source``; False if the same content was there already.

        Raises ``PolicyRegistryFrozenError`` after ``freeze``, ``PolicyConflictError`` when
        ``name@version`` holds a different content.
        """
        policy_id = definition.policy_id
        if self._frozen:
            raise PolicyRegistryFrozenError(
                f"policy {policy_id} refused: the policy registry is frozen once the runtime "
                "has started (declare policies in the config or an allowlisted module)",
                file=source,
                field=field,
            )
        digest = definition.content_hash()
        known = self._entries.get(policy_id)
        if known is not None:
            if known.sha256 == digest:
                return False
            raise PolicyConflictError(
                f"policy {policy_id} is already registered from {known.source} with a different "
                "content; give the changed policy a new version",
                file=source,
                field=field,
            )
        entry = ModelPolicyEntry(definition=definition, source=source, sha256=digest)
        self._entries[policy_id] = entry
        if not self._log:
            return True
        _log.info(
            "policy registered",
            policy=definition.name,
            version=definition.version,
            kind=definition.kind.value,
            source=source,
            sha256=digest,
        )
        return True

    def entries(self) -> MappingProxyType[str, ModelPolicyEntry]:
        """Every entry by ``name@version`` (a read-only view)."""
        return MappingProxyType(self._entries)

    def resolve(
        self, reference: str, kind: EnumPolicyKind, *, file: str | None, field: str
    ) -> ModelPolicyDefinition:
        """The policy ``reference`` (``name@1``, ``name@1.2``, ``name@1.2.3``) names.

        A shorter version is a prefix: the highest registered version that matches wins. The
        reference is only looked up, never imported. Raises ``PolicyRegistryError`` naming
        ``file`` and ``field`` when it is malformed, unknown or of another kind.
        """
        parsed = parse_reference(reference)
        if parsed is None:
            raise PolicyRegistryError(
                f"{reference!r} is not a policy reference (name@major[.minor[.patch]])",
                file=file,
                field=field,
            )
        name, prefix = parsed
        matches = [
            entry.definition
            for entry in self._entries.values()
            if entry.definition.name == name
            and entry.definition.version_parts[: len(prefix)] == prefix
        ]
        if not matches:
            known = sorted(self._entries) or ["none"]
            raise PolicyRegistryError(
                f"unknown policy {reference} (registered: {', '.join(known)})",
                file=file,
                field=field,
            )
        found = max(matches, key=lambda definition: definition.version_parts)
        if found.kind is not kind:
            raise PolicyRegistryError(
                f"policy {found.policy_id} is a {found.kind.value} policy, not {kind.value}",
                file=file,
                field=field,
            )
        return found

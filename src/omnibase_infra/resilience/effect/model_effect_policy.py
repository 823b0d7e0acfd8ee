"""``ModelEffectPolicy``: the ``error_handling`` section of an EFFECT contract.

::

    error_handling:
      transport: db                 # EnumInfraTransportType of the dependency (default http)
      targets:                      # per capability, when it differs from ``transport``
        registration.discovery: {transport: consul, service_name: discovery}
      timeout_seconds: 5            # every attempt of every handler call
      max_elapsed_seconds: 30       # the retry loop gives up after this long
      retry:                        # core's ModelRetrySubcontract (null: a single attempt)
        version: {major: 1, minor: 0, patch: 0}
        max_retries: 3
        base_delay_seconds: 0.2
      circuit_breaker:              # core's ModelCircuitBreakerSubcontract (null: none)
        version: {major: 1, minor: 0, patch: 0}
        failure_threshold: 5
        timeout_seconds: 30
      idempotency: {business_key_fields: [node_id]}   # on by default, keyed by envelope id
      fallback: {kind: static, value: {status: unknown}}   # or {kind: handler, handler: NODE}
      credential_refresh: auto      # vault | oidc | none; auto: vault for transport vault
      outbox: false                 # true: the result committed with the handler's writes
      steps:                        # multi-step effects: compensation of each step
        - {name: reserve, compensation: release}

Retry and circuit breaker are core's subcontracts, composed as they are; this model adds only
what core does not define (the transport, the attempt timeout, the retry time budget,
idempotency, fallback, credential refresh, outbox, compensation steps). Omitted sections get
defaults: every effect is timed out, retried with core's defaults, guarded by a breaker with
core's defaults and idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from omnibase_infra._core import (
    ModelCircuitBreakerSubcontract,
    ModelOnexError,
    ModelRetrySubcontract,
    ModelSemVer,
)
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.resilience.effect.model_effect_fallback import ModelEffectFallback
from omnibase_infra.resilience.effect.model_effect_step import ModelEffectStep
from omnibase_infra.resilience.effect.model_effect_target import ModelEffectTarget
from omnibase_infra.resilience.effect.model_idempotency_policy import ModelIdempotencyPolicy

__all__ = ["CredentialRefresh", "ModelEffectPolicy"]

CredentialRefresh = Literal["auto", "vault", "oidc", "none"]


def _default_retry() -> ModelRetrySubcontract:
    return ModelRetrySubcontract(version=ModelSemVer(major=1, minor=0, patch=0))


def _default_breaker() -> ModelCircuitBreakerSubcontract:
    return ModelCircuitBreakerSubcontract(version=ModelSemVer(major=1, minor=0, patch=0))


class ModelEffectPolicy(BaseModel):
    """Timeout, retry, circuit breaker, idempotency, fallback and compensation of an effect."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    transport: EnumInfraTransportType = Field(
        default=EnumInfraTransportType.HTTP,
        description="The transport of the effect's dependency (errors, breaker context).",
    )
    targets: dict[str, ModelEffectTarget] = Field(
        default_factory=dict,
        description="Per capability: its own transport and service name.",
    )
    timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="Timeout of each attempt (core's retry.timeout_per_attempt_seconds, when "
        "given, must agree).",
    )
    max_elapsed_seconds: float | None = Field(
        default=60.0,
        gt=0,
        le=24 * 3600,
        description="No retry starts once this much time has passed since the first attempt.",
    )
    retry: ModelRetrySubcontract | None = Field(default_factory=_default_retry)
    circuit_breaker: ModelCircuitBreakerSubcontract | None = Field(default_factory=_default_breaker)
    idempotency: ModelIdempotencyPolicy = Field(default_factory=ModelIdempotencyPolicy)
    fallback: ModelEffectFallback | None = Field(
        default=None,
        description="What answers when the dependency failed (after retries) or its circuit is "
        "open: a static value, or another EFFECT node's handler by node name.",
    )
    credential_refresh: CredentialRefresh = Field(
        default="auto",
        description="Whose credentials the runtime refreshes when a call is rejected as "
        "unauthenticated (then it retries the call once): `vault` (AppRole login again, or the "
        "token reference read again), `oidc` (a new client-credentials token), `none`; `auto` "
        "is `vault` for `transport: vault`, else `none`.",
    )
    outbox: bool = Field(
        default=False,
        description="Results through the transactional outbox: each attempt runs in one "
        "PostgreSQL transaction (the handler writes through `outbox_transaction()`), the result "
        "is written to `onex_outbox` in it and published by the runtime's relay. Needs "
        "PostgreSQL.",
    )
    steps: tuple[ModelEffectStep, ...] = Field(
        default=(),
        description="A multi-step effect: its steps in order, each with the compensation that "
        "undoes it; on a failure the compensations of the completed steps run in reverse.",
    )

    @property
    def refresher_kind(self) -> Literal["vault", "oidc"] | None:
        """The credentials refreshed on an authentication failure (None: none)."""
        if self.credential_refresh == "auto":
            return "vault" if self.transport is EnumInfraTransportType.VAULT else None
        return None if self.credential_refresh == "none" else self.credential_refresh

    @property
    def attempt_timeout_seconds(self) -> float:
        """The timeout applied to each attempt."""
        if self.retry is not None and self.retry.timeout_per_attempt_seconds is not None:
            return self.retry.timeout_per_attempt_seconds
        return self.timeout_seconds

    def target(self, capability: str) -> ModelEffectTarget:
        """Where ``capability``'s calls go: its declared target, else the effect's transport."""
        found = self.targets.get(capability)
        return found if found is not None else ModelEffectTarget(transport=self.transport)

    @property
    def max_attempts(self) -> int:
        """Attempts per call: the first one plus core's ``max_retries``."""
        return 1 if self.retry is None else 1 + self.retry.max_retries

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """Timeouts agree, a claim outlives the work it guards, step names are unique."""
        per_attempt = None if self.retry is None else self.retry.timeout_per_attempt_seconds
        if (
            per_attempt is not None
            and "timeout_seconds" in self.model_fields_set
            and per_attempt != self.timeout_seconds
        ):
            raise ValueError(
                "timeout_seconds and retry.timeout_per_attempt_seconds disagree; give one"
            )
        if self.idempotency.enabled:
            longest = (self.max_elapsed_seconds or 0.0) + self.attempt_timeout_seconds
            if self.max_elapsed_seconds is None:
                longest = self.max_attempts * self.attempt_timeout_seconds
            if self.idempotency.lease_seconds <= longest:
                raise ValueError(
                    f"idempotency.lease_seconds ({self.idempotency.lease_seconds}) must exceed "
                    f"the longest a call may take ({longest}s), or a duplicate could run while "
                    "the first delivery is still working"
                )
        if self.outbox and self.steps:
            raise ValueError("outbox and steps cannot be combined (steps commit one by one)")
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            raise ValueError("step names must be unique")
        return self

    @classmethod
    def from_contract_section(
        cls, section: Mapping[str, object] | None, *, file: str | None = None
    ) -> ModelEffectPolicy:
        """Validate an ``error_handling`` section; a bad one raises ProtocolConfigurationError."""
        if section is None:
            return cls()
        try:
            return cls.model_validate(section)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in ("error_handling", *first["loc"]))
            raise ProtocolConfigurationError(first["msg"], file=file, field=where) from None
        except ModelOnexError as exc:
            # Core's subcontract validators raise their own error instead of ValueError.
            raise ProtocolConfigurationError(
                str(exc.message), file=file, field="error_handling"
            ) from None

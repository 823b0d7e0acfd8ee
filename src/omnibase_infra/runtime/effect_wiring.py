"""An EFFECT contract's ``error_handling`` made real at start: executor, credential refresher,
compensation steps and handler fallbacks.

* ``credential_refresh``: the executor gets the runtime's Vault handler (``vault``: AppRole
  login again, or the token reference read again) or its OIDC handler (``oidc``: a new
  client-credentials token) as its ``ProtocolCredentialRefresher``; an authentication failure
  then costs one refresh and one more attempt instead of the message. Asked for and not
  configured: the start fails naming the field.
* ``steps``: the handler registers the steps' code by name (``effect_steps``).
* ``outbox``: the handler runs in a transaction its result is committed with
  (``effect_outbox``).
* ``fallback: {kind: handler, handler: NODE}``: NODE is another EFFECT node the runtime loads;
  its guarded handler answers when this node's dependency failed. Checked by ``validate`` and
  at start (``fallback_problems``): the node exists, is an EFFECT with one handler and the
  chain of fallbacks has no cycle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

from pydantic import BaseModel

from omnibase_infra._core import EnumNodeKind, ModelONEXContainer
from omnibase_infra.dispatch.protocols import ProtocolMessageHandler
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.handlers.postgres.handler_postgres import HandlerPostgres
from omnibase_infra.resilience.breaker.registry import CircuitBreakerRegistry
from omnibase_infra.resilience.compensation.model_compensation_result import ModelCompensationResult
from omnibase_infra.resilience.effect.executor import EffectExecutor
from omnibase_infra.resilience.effect.model_effect_policy import ModelEffectPolicy
from omnibase_infra.resilience.effect.protocol_credential_refresher import (
    ProtocolCredentialRefresher,
)
from omnibase_infra.resilience.idempotency.protocol_idempotency_store import (
    ProtocolIdempotencyStore,
)
from omnibase_infra.runtime.contracts.model_node_contract import ModelNodeContract
from omnibase_infra.runtime.effect_guard import GuardedEffectHandler
from omnibase_infra.runtime.effect_outbox import OutboxedHandler
from omnibase_infra.runtime.effect_steps import EffectStepsRunner, ProtocolEffectStepsHandler

__all__ = ["bind_fallbacks", "fallback_problems", "guard_effect", "steps_handler_problem"]

_FALLBACK_FIELD = "error_handling.fallback.handler"


def guard_effect(
    contract: ModelNodeContract,
    handler: ProtocolMessageHandler | ProtocolEffectStepsHandler,
    container: ModelONEXContainer,
    results: Sequence[tuple[type[BaseModel], str]],
) -> GuardedEffectHandler:
    """``handler`` under the executor its contract's ``error_handling`` declares."""
    policy = contract.effect_policy or ModelEffectPolicy()
    store = (
        container.get_service_optional(ProtocolIdempotencyStore)  # type: ignore[type-abstract]
        if policy.idempotency.enabled
        else None
    )
    # The handler fallback is the guard's (it needs the message); the executor keeps static ones.
    executor = EffectExecutor.from_policy(
        contract.name,
        policy.model_copy(update={"fallback": None}) if _handler_fallback(policy) else policy,
        idempotency_store=store,
        credential_refresher=_refresher(policy, container, str(contract.path)),
    )
    breakers = container.get_service_optional(CircuitBreakerRegistry)
    if isinstance(breakers, CircuitBreakerRegistry) and executor.breaker is not None:
        breakers.register(contract.name, executor.breaker)  # the health monitor reads it
    if policy.steps:
        assert isinstance(handler, ProtocolEffectStepsHandler)  # steps_handler_problem
        publishes = any(model is ModelCompensationResult for model, _ in results)
        steps = EffectStepsRunner(
            contract.name, handler, executor, policy, publishes_outcome=publishes
        )
        return GuardedEffectHandler(None, executor, policy, steps=steps)
    # node_wiring checked ``handle`` (ProtocolMessageHandler is not runtime-checkable)
    message_handler = cast(ProtocolMessageHandler, handler)
    if policy.outbox:
        message_handler = OutboxedHandler(
            message_handler, _postgres(container, str(contract.path)), contract.name, results
        )
    return GuardedEffectHandler(message_handler, executor, policy)


def _postgres(container: ModelONEXContainer, file: str) -> HandlerPostgres:
    """The runtime's PostgreSQL, which an outbox effect writes through."""
    postgres = container.get_service_optional(HandlerPostgres)
    if not isinstance(postgres, HandlerPostgres):
        raise ProtocolConfigurationError(
            "error_handling.outbox needs PostgreSQL, and postgres.mode is disabled",
            file=file,
            field="error_handling.outbox",
        )
    return postgres


def steps_handler_problem(contract: ModelNodeContract, handler: object) -> str | None:
    """Why ``handler`` cannot run its contract's steps (None: it can, or there are none)."""
    policy = contract.effect_policy
    if policy is None or not policy.steps:
        return None
    if not isinstance(handler, ProtocolEffectStepsHandler):
        return (
            f"{type(handler).__name__} does not implement step_actions(context) and "
            "step_compensations(context), which error_handling.steps needs"
        )
    return None


def bind_fallbacks(
    contracts: Sequence[ModelNodeContract], guards: Mapping[str, GuardedEffectHandler]
) -> None:
    """Give every guard whose contract declares a handler fallback that node's guard."""
    problems = fallback_problems(contracts)
    if problems:
        raise problems[0]
    for guard in guards.values():
        name = guard.fallback_name
        if name is not None:
            guard.bind_fallback(guards[name])


def fallback_problems(nodes: Sequence[ModelNodeContract]) -> list[ProtocolConfigurationError]:
    """One error per handler fallback that names no loaded single-handler EFFECT node, or that
    closes a cycle of fallbacks."""
    effects = {
        node.name: node
        for node in nodes
        if node.archetype is EnumNodeKind.EFFECT
        and len({(r.handler_module, r.handler_class) for r in node.routes}) == 1
    }
    targets = {
        node.name: (node, target)
        for node in nodes
        if node.effect_policy is not None
        and (target := _handler_fallback(node.effect_policy)) is not None
    }
    problems: list[ProtocolConfigurationError] = []
    for name, (node, target) in targets.items():
        if target not in effects:
            reason = f"fallback handler {target!r} of {name} is not an EFFECT node the runtime "
            reason += "loads with exactly one handler (give the node name of such a node)"
        elif _cycles(name, targets):
            reason = f"the fallback of {name} leads back to it ({target}): fallbacks form a cycle"
        else:
            continue
        problems.append(
            ProtocolConfigurationError(reason, file=str(node.path), field=_FALLBACK_FIELD)
        )
    return problems


def _cycles(start: str, targets: Mapping[str, tuple[ModelNodeContract, str]]) -> bool:
    seen = {start}
    current = targets[start][1]
    while current in targets:
        if current in seen:
            return True
        seen.add(current)
        current = targets[current][1]
    return False


def _handler_fallback(policy: ModelEffectPolicy) -> str | None:
    fallback = policy.fallback
    return fallback.handler if fallback is not None and fallback.kind == "handler" else None


def _refresher(
    policy: ModelEffectPolicy, container: ModelONEXContainer, file: str
) -> ProtocolCredentialRefresher | None:
    """The handler whose credentials an authentication failure refreshes (see module doc)."""
    kind = policy.refresher_kind
    if kind is None:
        return None
    found: object | None
    if kind == "vault":
        # Imported only when asked for: httpx and the handler are not on the local start path.
        from omnibase_infra.handlers.vault.handler_vault import HandlerVault

        found = container.get_service_optional(HandlerVault)
        missing = "no vault is configured (the config's vault section)"
    else:
        from omnibase_infra.handlers.oidc.handler_keycloak import HandlerKeycloak

        found = container.get_service_optional(HandlerKeycloak)
        missing = "no OIDC client is configured for the runtime"
    if found is None:
        if policy.credential_refresh == "auto":
            return None  # auto: refresh what there is
        raise ProtocolConfigurationError(
            f"credential_refresh is {kind} but {missing}",
            file=file,
            field="error_handling.credential_refresh",
        )
    assert isinstance(found, ProtocolCredentialRefresher)
    return found

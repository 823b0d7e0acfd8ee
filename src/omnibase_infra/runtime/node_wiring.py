"""Turns loaded contracts into dispatch routes: handler classes imported, instantiated, typed.

Every import happens here, at start, from contracts on disk, inside the allowlist. A handler
class takes the container (``Handler(container)``) and resolves what it needs from it by
Protocol once, in ``__init__`` (resolution is slow; the hot path never resolves). A handler
class with a ``config_model`` (a pydantic model) also takes the contract's ``handler_config``
section validated into it (``Handler(container, config)``); a bad section fails the start with
the file, the field and the reason.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import NamedTuple, cast

from pydantic import BaseModel

from omnibase_infra._core import EnumNodeKind, ModelONEXContainer, ModelOnexError
from omnibase_infra.declarative import (
    WorkflowStep,
    compute_result_problems,
    declarative_routes,
    is_declarative,
)
from omnibase_infra.dispatch.protocols import ProtocolMessageHandler
from omnibase_infra.dispatch.route import DispatchRoute
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.runtime.contracts.model_contract_route import ModelContractRoute
from omnibase_infra.runtime.contracts.model_node_contract import ModelNodeContract
from omnibase_infra.runtime.contracts.plugin_loader import (
    check_module_allowed,
    handler_config,
    load_class,
)
from omnibase_infra.runtime.effect_guard import GuardedEffectHandler
from omnibase_infra.runtime.effect_steps import ProtocolEffectStepsHandler
from omnibase_infra.runtime.effect_wiring import (
    bind_fallbacks,
    guard_effect,
    steps_handler_problem,
)

__all__ = ["build_routes"]

_STEP_KINDS = frozenset({EnumNodeKind.COMPUTE, EnumNodeKind.EFFECT})
_log = get_logger(__name__)


class _Where(NamedTuple):
    """The contract file and the routing entry a handler or model comes from."""

    file: str
    field: str


def build_routes(
    contracts: Sequence[ModelNodeContract],
    container: ModelONEXContainer,
    allowlist: Sequence[str],
) -> list[DispatchRoute]:
    """Routes for every contract; raises ``ProtocolConfigurationError`` naming file and field.

    A REDUCER or ORCHESTRATOR contract without handler_routing runs declaratively (its FSM or
    its workflow, ``omnibase_infra.declarative``); a workflow's steps call the COMPUTE and EFFECT
    nodes' handlers built here (an effect's under its executor, shared with its own routes).
    """
    routes: list[DispatchRoute] = []
    steps: dict[str, WorkflowStep] = {}
    guards: dict[str, GuardedEffectHandler] = {}
    for contract in contracts:
        handlers: dict[tuple[str, str], ProtocolMessageHandler] = {}
        models: set[type[BaseModel] | None] = set()
        results = _results(contract, allowlist)
        for index, entry in enumerate(contract.routes):
            where = _Where(str(contract.path), f"handler_routing.handlers.{index}")
            key = (entry.handler_module, entry.handler_class)
            if key not in handlers:
                instance = _instantiate(entry, contract, container, allowlist, where)
                if contract.archetype is EnumNodeKind.EFFECT:
                    guard = guard_effect(contract, instance, container, results)
                    guards.setdefault(contract.name, guard)
                    handler: ProtocolMessageHandler = guard
                else:
                    handler = cast(ProtocolMessageHandler, instance)
                handlers[key] = handler
            input_model = _input_model(contract, entry, allowlist, where)
            models.add(input_model)
            for topic in (entry.topic,) if entry.topic else contract.subscribe_topics:
                routes.append(
                    DispatchRoute(
                        node_name=contract.name,
                        archetype=contract.archetype,
                        topic=topic,
                        handler=handlers[key],
                        payload_type=entry.payload_type,
                        input_model=input_model,
                        publish_topics=frozenset(contract.publish_topics),
                        results=results,
                    )
                )
        if contract.archetype in _STEP_KINDS and len(handlers) == 1:
            model = models.pop() if len(models) == 1 else None
            steps[contract.name] = WorkflowStep(
                contract.name,
                contract.archetype,
                next(iter(handlers.values())),
                model or _contract_input_model(contract, allowlist),
            )
    bind_fallbacks(contracts, guards)
    for contract in contracts:
        if is_declarative(contract):
            model = _contract_input_model(contract, allowlist)
            routes.extend(declarative_routes(contract, steps, model))
    for problem in compute_result_problems(contracts):
        # validate refuses it; run keeps serving, but not without a word.
        _log.warning("compute result dropped", file=problem.file, reason=problem.reason)
    return routes


def _results(
    contract: ModelNodeContract, allowlist: Sequence[str]
) -> tuple[tuple[type[BaseModel], str], ...]:
    """The result models of an EFFECT contract, imported, with their topics."""
    results: list[tuple[type[BaseModel], str]] = []
    for result in contract.results:
        field = f"event_bus.publish_topic_metadata.{result.topic}.schema_ref"
        cls = load_class(
            result.model_module, result.model_name, allowlist, where=field, file=str(contract.path)
        )
        if not issubclass(cls, BaseModel):
            raise ProtocolConfigurationError(
                f"result model {result.model_name} is not a pydantic model",
                file=str(contract.path),
                field=field,
            )
        results.append((cls, result.topic))
    return tuple(results)


def _instantiate(
    entry: ModelContractRoute,
    contract: ModelNodeContract,
    container: ModelONEXContainer,
    allowlist: Sequence[str],
    where: _Where,
) -> ProtocolMessageHandler | ProtocolEffectStepsHandler:
    cls = load_class(
        entry.handler_module, entry.handler_class, allowlist, where=where.field, file=where.file
    )
    handle = getattr(cls, "handle", None)
    has_steps = contract.effect_policy is not None and bool(contract.effect_policy.steps)
    if not has_steps and (handle is None or not inspect.iscoroutinefunction(handle)):
        raise ProtocolConfigurationError(
            f"{entry.handler_module}.{entry.handler_class} has no `async def handle(context)`",
            file=where.file,
            field=where.field,
        )
    config = handler_config(cls, contract.handler_config, file=where.file)
    try:
        instance: ProtocolMessageHandler | ProtocolEffectStepsHandler = (
            cls(container) if config is None else cls(container, config)
        )
    except ProtocolConfigurationError:
        raise
    except (TypeError, ModelOnexError) as exc:
        # Typically a service the handler resolves that nobody registered (core's
        # ServiceResolutionError names it); the contract and its entry say who asked.
        reason = exc.message if isinstance(exc, ModelOnexError) else str(exc)
        raise ProtocolConfigurationError(
            f"{entry.handler_class}(container) failed: {reason}",
            file=where.file,
            field=where.field,
        ) from exc
    except (Exception, SystemExit) as exc:  # the plugin's own code: any failure is its failure
        raise ProtocolConfigurationError(
            f"{entry.handler_class}(container) raised {type(exc).__name__}: {str(exc)[:200]}",
            file=where.file,
            field=where.field,
        ) from exc
    problem = steps_handler_problem(contract, instance)
    if problem is not None:
        raise ProtocolConfigurationError(problem, file=where.file, field=where.field)
    return instance


def _input_model(
    contract: ModelNodeContract, entry: ModelContractRoute, allowlist: Sequence[str], where: _Where
) -> type[BaseModel] | None:
    """The route's event_model; else, when it is the contract's one route, its input_model
    (several catch-all routes may take payloads the input_model does not describe)."""
    if entry.payload_module is None or entry.payload_type is None:
        return _contract_input_model(contract, allowlist) if len(contract.routes) == 1 else None
    return _pydantic_class(
        entry.payload_module, entry.payload_type, allowlist, where, "event_model"
    )


def _contract_input_model(
    contract: ModelNodeContract, allowlist: Sequence[str]
) -> type[BaseModel] | None:
    """The contract's ``input_model`` class when it is a dotted name inside the allowlist
    (core's own names are not imported), else None."""
    dotted = str(getattr(contract.definition, "input_model", None) or "")
    module, _, name = dotted.rpartition(".")
    if not module:
        return None
    try:
        check_module_allowed(module, allowlist, where="input_model")
    except ProtocolConfigurationError:
        return None
    where = _Where(str(contract.path), "input_model")
    return _pydantic_class(module, name, allowlist, where, "input_model")


def _pydantic_class(
    module: str, name: str, allowlist: Sequence[str], where: _Where, what: str
) -> type[BaseModel]:
    cls = load_class(module, name, allowlist, where=where.field, file=where.file)
    if not issubclass(cls, BaseModel):
        raise ProtocolConfigurationError(
            f"{what} {name} is not a pydantic model", file=where.file, field=where.field
        )
    return cls

"""Finds node contracts and validates them with core's contract models, all or nothing.

A contract is found through the ``onex.nodes`` entry point group (each entry names a package
whose directory is scanned, located without importing it) and through configured directories.
Each ``contract.yaml`` is read with the strict safe loader, its ``node_type`` chooses core's
``ModelContract{Effect,Compute,Reducer,Orchestrator}``, and the runtime's own rules follow:
topic grammar, which archetype may subscribe to and publish on which kind of topic, and handler
modules inside the import allowlist. Every error names the file, the field and the reason;
``load_contracts`` reports all of them and returns nothing when any contract is bad.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from pydantic import JsonValue, ValidationError

from omnibase_infra._core import (
    EnumNodeKind,
    ModelContractBase,
    ModelContractCompute,
    ModelContractEffect,
    ModelContractOrchestrator,
    ModelContractReducer,
    ModelOnexError,
)
from omnibase_infra.enums import EnumTopicKind
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.event_bus.topics import parse_topic
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.runtime.contracts.contract_files import (
    CONTRACT_FILE_NAME,
    ENTRY_POINT_GROUP,
    discover_contract_files,
)
from omnibase_infra.runtime.contracts.contract_sections import (
    pop_effect_policy,
    pop_fsm_binding,
    pop_handler_config,
)
from omnibase_infra.runtime.contracts.model_contract_result import ModelContractResult
from omnibase_infra.runtime.contracts.model_contract_route import ModelContractRoute
from omnibase_infra.runtime.contracts.model_node_contract import ModelNodeContract
from omnibase_infra.runtime.contracts.plugin_loader import check_module_allowed
from omnibase_infra.runtime.policies.registry import PolicyRegistry
from omnibase_infra.runtime.safe_yaml import load_yaml_mapping
from omnibase_infra.validation_errors import first_validation_error

__all__ = [
    "ARCHETYPES",
    "CONTRACT_FILE_NAME",
    "ENTRY_POINT_GROUP",
    "MAY_PUBLISH",
    "MAY_SUBSCRIBE",
    "ContractLoadError",
    "discover_contract_files",
    "load_contract",
    "load_contracts",
    "load_node_contracts",
]

ARCHETYPES: dict[str, EnumNodeKind] = {
    "EFFECT_GENERIC": EnumNodeKind.EFFECT,
    "COMPUTE_GENERIC": EnumNodeKind.COMPUTE,
    "REDUCER_GENERIC": EnumNodeKind.REDUCER,
    "ORCHESTRATOR_GENERIC": EnumNodeKind.ORCHESTRATOR,
}
_CORE_MODELS: dict[EnumNodeKind, type[ModelContractBase]] = {
    EnumNodeKind.EFFECT: ModelContractEffect,
    EnumNodeKind.COMPUTE: ModelContractCompute,
    EnumNodeKind.REDUCER: ModelContractReducer,
    EnumNodeKind.ORCHESTRATOR: ModelContractOrchestrator,
}
# The architecture's rules, by topic kind: only orchestrators publish events and commands,
# reducers only emit intents, computes publish nothing. An effect publishes nothing itself: the
# engine publishes the result its handler returns, on the evt topic its contract declares for
# that result's model (``_results``), so an effect may name evt topics, and only as results.
MAY_SUBSCRIBE: dict[EnumNodeKind, frozenset[EnumTopicKind]] = {
    EnumNodeKind.ORCHESTRATOR: frozenset({EnumTopicKind.EVT, EnumTopicKind.CMD}),
    EnumNodeKind.REDUCER: frozenset({EnumTopicKind.EVT, EnumTopicKind.CMD}),
    EnumNodeKind.EFFECT: frozenset({EnumTopicKind.INTENT, EnumTopicKind.CMD}),
    EnumNodeKind.COMPUTE: frozenset({EnumTopicKind.CMD, EnumTopicKind.EVT}),
}
MAY_PUBLISH: dict[EnumNodeKind, frozenset[EnumTopicKind]] = {
    EnumNodeKind.ORCHESTRATOR: frozenset({EnumTopicKind.EVT, EnumTopicKind.CMD}),
    EnumNodeKind.REDUCER: frozenset({EnumTopicKind.INTENT}),
    EnumNodeKind.EFFECT: frozenset({EnumTopicKind.EVT}),
    EnumNodeKind.COMPUTE: frozenset(),
}
_STEP_KINDS = frozenset({EnumNodeKind.COMPUTE, EnumNodeKind.EFFECT})
_log = get_logger(__name__)
# Core warns, for every contract without io_operations (effects) or an algorithm (computes),
# about the migration of its own legacy corpus, naming an internal ticket. This runtime needs
# neither field (handlers come from handler_routing), so the line only confuses a user.
logging.getLogger("omnibase_core.models.contracts").setLevel(logging.ERROR)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # used with fullmatch


class ContractLoadError(ProtocolConfigurationError):
    """One or more contracts are invalid; ``errors`` holds each file/field/reason."""

    def __init__(self, errors: Sequence[ProtocolConfigurationError]) -> None:
        lines = [str(error.message) for error in errors]
        super().__init__(
            f"{len(errors)} contract error(s):\n  " + "\n  ".join(lines),
            file=errors[0].file if len(errors) == 1 else None,
            field=errors[0].field if len(errors) == 1 else None,
        )
        self.errors = list(errors)


def load_contracts(
    paths: Iterable[Path], *, allowlist: Sequence[str], policies: PolicyRegistry | None = None
) -> list[ModelNodeContract]:
    """Load every contract or none: raises ``ContractLoadError`` listing every problem.

    ``policies``: the registry ``error_handling`` references resolve in (None: an empty one).
    """
    contracts: list[ModelNodeContract] = []
    errors: list[ProtocolConfigurationError] = []
    names: dict[str, Path] = {}
    for path in paths:
        try:
            contract = load_contract(path, allowlist=allowlist, policies=policies)
        except ProtocolConfigurationError as exc:
            errors.append(exc)
            continue
        if contract.name in names:
            errors.append(
                ProtocolConfigurationError(
                    f"node name {contract.name!r} is already declared by {names[contract.name]}",
                    file=str(path),
                    field="name",
                )
            )
            continue
        names[contract.name] = path
        contracts.append(contract)
    if errors:
        raise ContractLoadError(errors)
    return contracts


def load_node_contracts(
    directories: Iterable[Path],
    *,
    allowlist: Sequence[str],
    use_entry_points: bool,
    exclude: Mapping[str, str],
    policies: PolicyRegistry | None = None,
) -> list[ModelNodeContract]:
    """Discover and load every contract (all or none), leaving out the ``exclude``d nodes
    (name -> why, logged)."""
    files = discover_contract_files(
        directories, allowlist=allowlist, use_entry_points=use_entry_points
    )
    contracts = load_contracts(files, allowlist=allowlist, policies=policies)
    for contract in contracts:
        if contract.name in exclude:
            _log.info("node left out", node=contract.name, reason=exclude[contract.name])
    return [contract for contract in contracts if contract.name not in exclude]


def load_contract(
    path: Path, *, allowlist: Sequence[str], policies: PolicyRegistry | None = None
) -> ModelNodeContract:
    """Load and validate one contract file (see module docstring for the rules)."""
    file = str(path)
    data = load_yaml_mapping(path)
    archetype = _archetype(data, file)
    effect_policy, policy_refs = pop_effect_policy(data, archetype, file, policies)
    fsm_binding = pop_fsm_binding(data, archetype, file)
    handler_config = pop_handler_config(data, file)
    definition = _validate_core(_CORE_MODELS[archetype], data, file)
    subscribe, publish = _topics(data, archetype, file)
    routes = _routes(data, subscribe, allowlist, file)
    results = _results(data, archetype, publish, allowlist, file)
    version = data.get("node_version") or data.get("contract_version")
    return ModelNodeContract(
        path=path,
        name=str(data["name"]),
        archetype=archetype,
        version=_semver_text(version),
        description=str(data.get("description", "")),
        subscribe_topics=subscribe,
        publish_topics=publish,
        routes=routes,
        definition=definition,
        effect_policy=effect_policy,
        fsm_binding=fsm_binding,
        results=results,
        handler_config=handler_config,
        policy_refs=policy_refs,
    )


def _results(
    data: dict[str, JsonValue],
    archetype: EnumNodeKind,
    publish: tuple[str, ...],
    allowlist: Sequence[str],
    file: str,
) -> tuple[ModelContractResult, ...]:
    """An EFFECT's result topics: each published topic names its model (``schema_ref``).

    The engine publishes a result on the topic declared for its model, so every topic needs
    one, inside the allowlist, and no model may be declared for two topics.
    """
    if archetype is not EnumNodeKind.EFFECT or not publish:
        return ()
    section = data.get("event_bus")
    assert isinstance(section, dict)  # publish topics came from it
    metadata = section.get("publish_topic_metadata") or {}
    assert isinstance(metadata, dict)  # core's model validated it
    results: list[ModelContractResult] = []
    seen: dict[str, str] = {}
    for index, topic in enumerate(publish):
        entry = metadata.get(topic)
        ref = entry.get("schema_ref") if isinstance(entry, dict) else None
        module, _, name = str(ref or "").rpartition(".")
        if not module:
            raise ProtocolConfigurationError(
                f"an EFFECT node may not publish on evt topics ({topic}) except as declared "
                "results: name the result model in publish_topic_metadata.<topic>.schema_ref",
                file=file,
                field=f"event_bus.publish_topics.{index}",
            )
        field = f"event_bus.publish_topic_metadata.{topic}.schema_ref"
        check_module_allowed(module, allowlist, where=field, file=file)
        if not _IDENTIFIER.fullmatch(name):
            raise ProtocolConfigurationError(
                f"result model name {name!r} is not a class name", file=file, field=field
            )
        if str(ref) in seen:
            raise ProtocolConfigurationError(
                f"result model {ref} is already published on {seen[str(ref)]}: one topic per "
                "result model",
                file=file,
                field=field,
            )
        seen[str(ref)] = topic
        results.append(ModelContractResult(topic=topic, model_module=module, model_name=name))
    return tuple(results)


def _archetype(data: dict[str, JsonValue], file: str) -> EnumNodeKind:
    node_type = data.get("node_type")
    archetype = ARCHETYPES.get(str(node_type).upper()) if node_type is not None else None
    if archetype is None:
        raise ProtocolConfigurationError(
            f"unknown archetype {node_type!r}; expected one of {', '.join(ARCHETYPES)}",
            file=file,
            field="node_type",
        )
    return archetype


def _validate_core(
    model: type[ModelContractBase], data: dict[str, JsonValue], file: str
) -> ModelContractBase:
    """Validate with core's contract model, turning its errors into file/field/reason."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        field, reason = first_validation_error(exc)
        raise ProtocolConfigurationError(reason, file=file, field=field) from None
    except ModelOnexError as exc:  # core's own validators raise these
        raise ProtocolConfigurationError(str(exc.message), file=file) from None


def _topics(
    data: dict[str, JsonValue], archetype: EnumNodeKind, file: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    section = data.get("event_bus")
    if not isinstance(section, dict):
        return (), ()
    result: list[tuple[str, ...]] = []
    for key, allowed in (
        ("subscribe_topics", MAY_SUBSCRIBE[archetype]),
        ("publish_topics", MAY_PUBLISH[archetype]),
    ):
        topics = section.get(key) or []
        assert isinstance(topics, list)  # core's model validated it as list[str]
        for index, topic in enumerate(topics):
            field = f"event_bus.{key}.{index}"
            try:
                kind = parse_topic(str(topic)).kind
            except ProtocolConfigurationError as exc:
                raise ProtocolConfigurationError(exc.reason, file=file, field=field) from None
            if kind not in allowed:
                verb = "subscribe to" if key == "subscribe_topics" else "publish on"
                raise ProtocolConfigurationError(
                    f"{_article(archetype.value)} {archetype.value} node may not {verb} "
                    f"{kind.value} topics ({topic})",
                    file=file,
                    field=field,
                )
        result.append(tuple(str(t) for t in topics))
    return result[0], result[1]


def _routes(
    data: dict[str, JsonValue],
    subscribe: tuple[str, ...],
    allowlist: Sequence[str],
    file: str,
) -> tuple[ModelContractRoute, ...]:
    section = data.get("handler_routing")
    if not isinstance(section, dict):
        return ()
    entries = section.get("handlers") or []
    assert isinstance(entries, list)
    routes: list[ModelContractRoute] = []
    for index, entry in enumerate(entries):
        field = f"handler_routing.handlers.{index}"
        assert isinstance(entry, dict)  # core's model validated the entry shape
        handler = entry["handler"]
        assert isinstance(handler, dict)
        module, name = str(handler["module"]), str(handler["name"])
        check_module_allowed(module, allowlist, where=f"{field}.handler.module", file=file)
        if not _IDENTIFIER.fullmatch(name):
            raise ProtocolConfigurationError(
                f"handler name {name!r} is not a class name",
                file=file,
                field=f"{field}.handler.name",
            )
        payload_type, payload_module = None, None
        event_model = entry.get("event_model")
        if isinstance(event_model, dict):
            payload_type, payload_module = str(event_model["name"]), str(event_model["module"])
            check_module_allowed(
                payload_module, allowlist, where=f"{field}.event_model.module", file=file
            )
            if not _IDENTIFIER.fullmatch(payload_type):
                raise ProtocolConfigurationError(
                    f"event model name {payload_type!r} is not a class name",
                    file=file,
                    field=f"{field}.event_model.name",
                )
        topic = entry.get("topic")
        if topic is not None and topic not in subscribe:
            raise ProtocolConfigurationError(
                f"routes topic {topic} that event_bus.subscribe_topics does not declare",
                file=file,
                field=f"{field}.topic",
            )
        operation = entry.get("operation")
        routes.append(
            ModelContractRoute(
                handler_module=module,
                handler_class=name,
                payload_type=payload_type,
                payload_module=payload_module,
                topic=None if topic is None else str(topic),
                operation=None if operation is None else str(operation),
            )
        )
    # A COMPUTE or EFFECT node may be called only as a workflow step, subscribing to nothing.
    if routes and not subscribe and _archetype(data, file) not in _STEP_KINDS:
        raise ProtocolConfigurationError(
            "declares handlers but subscribes to no topic", file=file, field="event_bus"
        )
    return tuple(routes)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _semver_text(version: JsonValue) -> str:
    if isinstance(version, dict):
        return f"{version.get('major', 0)}.{version.get('minor', 0)}.{version.get('patch', 0)}"
    return str(version or "0.0.0")

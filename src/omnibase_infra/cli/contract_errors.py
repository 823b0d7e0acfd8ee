"""The contract reference's error table: common mistakes, each loaded for real.

Each example is a minimal valid contract with one change, written to a temporary file and
given to the contract loader; the table shows the field and reason it reports, so the page
says exactly what ``onex-infra validate`` would.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml
from pydantic import JsonValue

from omnibase_infra.cli.model_contract_error_example import ModelContractErrorExample
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.runtime.contracts.contract_loader import CONTRACT_FILE_NAME, load_contract

__all__ = ["contract_error_examples"]

_ALLOWLIST = ("my_nodes",)
_V1: dict[str, JsonValue] = {"major": 1, "minor": 0, "patch": 0}
_TOPIC_IN = "onex.evt.shop.order-placed.v1"


def _orchestrator() -> dict[str, JsonValue]:
    """A valid ORCHESTRATOR contract with one route."""
    return {
        "name": "node_order_orchestrator",
        "node_type": "ORCHESTRATOR_GENERIC",
        "contract_version": dict(_V1),
        "description": "Routes placed orders.",
        "input_model": "my_nodes.models.ModelOrder",
        "output_model": "my_nodes.models.ModelOrderAccepted",
        "performance": {"single_operation_max_ms": 200},
        "event_bus": {
            "version": dict(_V1),
            "subscribe_topics": [_TOPIC_IN],
            "publish_topics": ["onex.evt.shop.order-accepted.v1"],
        },
        "handler_routing": {
            "version": dict(_V1),
            "routing_strategy": "payload_type_match",
            "handlers": [
                {
                    "handler": {"name": "HandlerOrder", "module": "my_nodes.handler"},
                    "topic": _TOPIC_IN,
                }
            ],
        },
    }


def _effect() -> dict[str, JsonValue]:
    """A valid EFFECT contract."""
    return {
        "name": "node_order_store_effect",
        "node_type": "EFFECT_GENERIC",
        "contract_version": dict(_V1),
        "description": "Stores orders.",
        "input_model": "my_nodes.models.ModelOrder",
        "output_model": "my_nodes.models.ModelStored",
        "performance": {"single_operation_max_ms": 5000},
        "io_operations": [{"operation_type": "orders.storage", "timeout_seconds": 5}],
    }


def _set(path: str, value: JsonValue) -> Callable[[dict[str, JsonValue]], None]:
    """A change that sets ``path`` (dotted, list indexes as numbers) to ``value``."""

    def change(data: dict[str, JsonValue]) -> None:
        *parents, last = path.split(".")
        node: JsonValue = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]  # type: ignore[index]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            assert isinstance(node, dict)
            node[last] = value

    return change


def _drop(key: str) -> Callable[[dict[str, JsonValue]], None]:
    def change(data: dict[str, JsonValue]) -> None:
        del data[key]

    return change


_Base = Callable[[], dict[str, JsonValue]]
_EXAMPLES: tuple[tuple[str, _Base, Callable[[dict[str, JsonValue]], None]], ...] = (
    ("`node_type` is not an archetype", _effect, _set("node_type", "SERVICE")),
    ("`name` left out", _effect, _drop("name")),
    ("`description` left out", _effect, _drop("description")),
    ("`contract_version` is not a version", _effect, _set("contract_version", "one")),
    (
        "a topic that does not follow the grammar",
        _orchestrator,
        _set("event_bus.subscribe_topics.0", "orders"),
    ),
    (
        "an orchestrator publishes on an intent topic",
        _orchestrator,
        _set("event_bus.publish_topics.0", "onex.intent.shop.store-order.v1"),
    ),
    (
        "a handler module outside `plugin_allowlist`",
        _orchestrator,
        _set("handler_routing.handlers.0.handler.module", "os"),
    ),
    (
        "a route on a topic the node does not subscribe to",
        _orchestrator,
        _set("handler_routing.handlers.0.topic", "onex.evt.shop.order-cancelled.v1"),
    ),
    (
        "`error_handling` on a non-EFFECT node",
        _orchestrator,
        _set("error_handling", {"timeout_seconds": 5}),
    ),
    (
        "an unknown key in `error_handling`",
        _effect,
        _set("error_handling", {"timout_seconds": 5}),
    ),
    (
        "an idempotency lease shorter than the call may take",
        _effect,
        _set("error_handling", {"timeout_seconds": 30, "idempotency": {"lease_seconds": 10}}),
    ),
    (
        "a reference to a policy the config does not register",
        _effect,
        _set("error_handling", {"retry": {"policy": "standard-http@1"}}),
    ),
)


def _load_error(data: dict[str, JsonValue], directory: Path) -> ProtocolConfigurationError:
    path = directory / CONTRACT_FILE_NAME
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        load_contract(path, allowlist=_ALLOWLIST)
    except ProtocolConfigurationError as exc:
        return exc
    raise AssertionError(f"the broken contract loaded: {data}")


def contract_error_examples() -> list[ModelContractErrorExample]:
    """Every example's mistake with the field and reason the loader reports."""
    for make in (_orchestrator, _effect):  # the bases themselves must load
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / CONTRACT_FILE_NAME
            path.write_text(yaml.safe_dump(make(), sort_keys=False))
            load_contract(path, allowlist=_ALLOWLIST)
    found: list[ModelContractErrorExample] = []
    for mistake, make, change in _EXAMPLES:
        data = make()
        change(data)
        with tempfile.TemporaryDirectory() as tmp:
            error = _load_error(data, Path(tmp))
        found.append(
            ModelContractErrorExample(mistake=mistake, field=error.field, reason=error.reason)
        )
    return found

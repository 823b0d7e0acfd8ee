"""Contract discovery and validation: valid contracts of each archetype load; bad ones stop the
load naming file, field and reason; loading is all or nothing; the plugin loader's allowlist."""

from __future__ import annotations

import copy
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from omnibase_infra._core import (
    EnumNodeKind,
    ModelContractCompute,
    ModelContractEffect,
    ModelContractOrchestrator,
    ModelContractReducer,
)
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.event_bus.inmemory import EventBusInmemory
from omnibase_infra.runtime.contracts.contract_loader import (
    ContractLoadError,
    discover_contract_files,
    load_contract,
    load_contracts,
)
from omnibase_infra.runtime.contracts.plugin_loader import (
    DEFAULT_ALLOWLIST,
    check_module_allowed,
    load_class,
)
from omnibase_infra.runtime.safe_yaml import MAX_YAML_BYTES, load_yaml_mapping

VALID_DIR = Path(__file__).parents[2] / "contracts" / "valid"
ALLOW = ("demo_nodes",)

_VALID = {
    "node_shop_flow_orchestrator": (EnumNodeKind.ORCHESTRATOR, ModelContractOrchestrator),
    "node_shop_state_reducer": (EnumNodeKind.REDUCER, ModelContractReducer),
    "node_shop_storage_effect": (EnumNodeKind.EFFECT, ModelContractEffect),
    "node_shop_price_compute": (EnumNodeKind.COMPUTE, ModelContractCompute),
}


def _valid(directory: str) -> dict[str, object]:
    """The parsed YAML of one valid fixture contract (a fresh copy to mutate)."""
    data = yaml.safe_load((VALID_DIR / directory / "contract.yaml").read_text())
    assert isinstance(data, dict)
    return copy.deepcopy(data)


def _write(tmp_path: Path, data: object, name: str = "node") -> Path:
    path = tmp_path / name / "contract.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _write_text(tmp_path: Path, text: str | bytes, name: str = "node") -> Path:
    path = tmp_path / name / "contract.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def _refused(path: Path, allowlist: tuple[str, ...] = ALLOW) -> ProtocolConfigurationError:
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_contract(path, allowlist=allowlist)
    return caught.value


# -- valid contracts --------------------------------------------------------------------------


@pytest.mark.parametrize("directory", sorted(_VALID))
def test_valid_contract_of_each_archetype_loads_without_core_warnings(
    directory: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Each archetype's fixture validates with core's model, without migration-debt warnings."""
    archetype, core_model = _VALID[directory]
    with caplog.at_level(logging.WARNING):
        contract = load_contract(VALID_DIR / directory / "contract.yaml", allowlist=ALLOW)
    assert contract.archetype is archetype
    assert isinstance(contract.definition, core_model)
    assert contract.name == directory.removeprefix("node_")
    assert [r for r in caplog.records if r.name.startswith("omnibase_core")] == []


def test_loaded_contract_exposes_topics_routes_and_version() -> None:
    """The runtime view of a contract: version text, topics and resolved routes."""
    contract = load_contract(
        VALID_DIR / "node_shop_flow_orchestrator" / "contract.yaml", allowlist=ALLOW
    )
    assert contract.version == "1.2.0"  # node_version wins over contract_version
    assert contract.subscribe_topics == ("onex.cmd.shop.place-order.v1",)
    assert contract.publish_topics == ("onex.evt.shop.order-accepted.v1",)
    (route,) = contract.routes
    assert route.handler_module == "demo_nodes.handlers"
    assert route.handler_class == "HandlerPlaceOrder"
    assert route.payload_type == "ModelPlaceOrder"
    assert route.payload_module == "demo_nodes.models"
    assert route.topic == "onex.cmd.shop.place-order.v1"
    effect = load_contract(
        VALID_DIR / "node_shop_storage_effect" / "contract.yaml", allowlist=ALLOW
    )
    assert effect.routes[0].operation == "shop.storage"
    assert effect.effect_policy is not None  # defaults apply when error_handling is absent


def test_discovery_finds_every_contract_under_a_directory() -> None:
    """discover_contract_files walks a configured directory for contract.yaml files."""
    found = discover_contract_files([VALID_DIR], allowlist=ALLOW, use_entry_points=False)
    assert sorted(path.parent.name for path in found) == sorted(_VALID)
    contracts = load_contracts(found, allowlist=ALLOW)
    assert sorted(c.name for c in contracts) == sorted(d.removeprefix("node_") for d in _VALID)


def test_entry_points_outside_the_allowlist_are_not_scanned() -> None:
    """An installed onex.nodes entry point outside the allowlist contributes nothing."""
    with_entry_points = discover_contract_files([VALID_DIR], allowlist=("nothing_trusted",))
    without = discover_contract_files([VALID_DIR], allowlist=ALLOW, use_entry_points=False)
    assert sorted(with_entry_points) == sorted(without)


# -- bad input: each stops the load with file, field and reason --------------------------------

Mutation = Callable[[dict[str, object]], None]


def _set(path: str, value: object) -> Mutation:
    """A mutation setting a dotted path (list indexes allowed) of the contract."""

    def apply(data: dict[str, object]) -> None:
        parts = path.split(".")
        node: object = data
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]  # type: ignore[index]
        last = parts[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            assert isinstance(node, dict)
            node[last] = value

    return apply


def _drop(key: str) -> Mutation:
    def apply(data: dict[str, object]) -> None:
        del data[key]

    return apply


_H = "handler_routing.handlers.0"

# (fixture, mutation, expected field, a fragment of the reason)
_BAD_FIELDS: list[tuple[str, str, Mutation, str | None, str]] = [
    (
        "unknown archetype",
        "node_shop_storage_effect",
        _set("node_type", "MAGIC_GENERIC"),
        "node_type",
        "unknown archetype",
    ),
    (
        "missing archetype",
        "node_shop_storage_effect",
        _drop("node_type"),
        "node_type",
        "unknown archetype",
    ),
    (
        "schema: wrong type",
        "node_shop_storage_effect",
        _set("event_bus.subscribe_topics", "x"),
        "event_bus.subscribe_topics",
        "valid list",
    ),
    (
        "schema: missing field",
        "node_shop_storage_effect",
        _drop("input_model"),
        "input_model",
        "Field required",
    ),
    (
        "schema: unknown field",
        "node_shop_storage_effect",
        _set("surprise", 1),
        "surprise",
        "Extra inputs are not permitted",
    ),
    (
        "schema: nested",
        "node_shop_state_reducer",
        _set("state_machine.states.0.state_type", 7),
        "state_machine.states.0.state_type",
        "valid string",
    ),
    (
        "handler outside allowlist",
        "node_shop_storage_effect",
        _set(f"{_H}.handler.module", "os"),
        f"{_H}.handler.module",
        "outside the handler import",
    ),
    (
        "event model outside allowlist",
        "node_shop_storage_effect",
        _set(f"{_H}.event_model.module", "subprocess"),
        f"{_H}.event_model.module",
        "outside the handler import",
    ),
    (
        "allowlist is by package",
        "node_shop_storage_effect",
        _set(f"{_H}.handler.module", "demo_nodes_evil.handlers"),
        f"{_H}.handler.module",
        "outside the handler import",
    ),
    (
        "relative module",
        "node_shop_storage_effect",
        _set(f"{_H}.handler.module", ".handlers"),
        f"{_H}.handler.module",
        "not a plain module path",
    ),
    (
        "parent-relative module",
        "node_shop_storage_effect",
        _set(f"{_H}.handler.module", "..demo_nodes.handlers"),
        f"{_H}.handler.module",
        "not a plain module path",
    ),
    (
        "path module",
        "node_shop_storage_effect",
        _set(f"{_H}.handler.module", "demo_nodes/../../etc/passwd"),
        f"{_H}.handler.module",
        "not a plain module path",
    ),
    (
        "absolute path module",
        "node_shop_storage_effect",
        _set(f"{_H}.handler.module", "/tmp/demo_nodes.py"),
        f"{_H}.handler.module",
        "not a plain module path",
    ),
    (
        "module with trailing newline",
        "node_shop_storage_effect",
        _set(f"{_H}.handler.module", "demo_nodes.handlers\n"),
        f"{_H}.handler.module",
        "not a plain module path",
    ),
    (
        "module with code",
        "node_shop_storage_effect",
        _set(f"{_H}.handler.module", "demo_nodes;__import__('os')"),
        f"{_H}.handler.module",
        "not a plain module path",
    ),
    (
        "handler name not a class name",
        "node_shop_storage_effect",
        _set(f"{_H}.handler.name", "Handler()"),
        f"{_H}.handler.name",
        "not a class name",
    ),
    (
        "handler name with newline",
        "node_shop_storage_effect",
        _set(f"{_H}.handler.name", "Handler\n"),
        f"{_H}.handler.name",
        "not a class name",
    ),
    (
        "event model name not a class name",
        "node_shop_storage_effect",
        _set(f"{_H}.event_model.name", "Model.x"),
        f"{_H}.event_model.name",
        "not a class name",
    ),
    (
        "topic grammar (core's check)",
        "node_shop_storage_effect",
        _set("event_bus.subscribe_topics", ["orders.created"]),
        "event_bus.subscribe_topics",
        "Invalid topic",
    ),
    (
        "topic grammar (ours, stricter)",
        "node_shop_storage_effect",
        _set("event_bus.subscribe_topics", ["onex.intent.shop.store-order.v01"]),
        "event_bus.subscribe_topics.0",
        "does not follow",
    ),
    (
        "effect publishes",
        "node_shop_storage_effect",
        _set("event_bus.publish_topics", ["onex.evt.shop.stored.v1"]),
        "event_bus.publish_topics.0",
        "may not publish on evt",
    ),
    (
        "effect result model outside the allowlist",
        "node_shop_storage_effect",
        _set(
            "event_bus",
            {
                "version": {"major": 1, "minor": 0, "patch": 0},
                "subscribe_topics": ["onex.intent.shop.store-order.v1"],
                "publish_topics": ["onex.evt.shop.stored.v1"],
                "publish_topic_metadata": {
                    "onex.evt.shop.stored.v1": {"schema_ref": "os.path.ModelStored"}
                },
            },
        ),
        "event_bus.publish_topic_metadata.onex.evt.shop.stored.v1.schema_ref",
        "outside the handler import allowlist",
    ),
    (
        "effect declares one result model for two topics",
        "node_shop_storage_effect",
        _set(
            "event_bus",
            {
                "version": {"major": 1, "minor": 0, "patch": 0},
                "subscribe_topics": ["onex.intent.shop.store-order.v1"],
                "publish_topics": ["onex.evt.shop.stored.v1", "onex.evt.shop.kept.v1"],
                "publish_topic_metadata": {
                    "onex.evt.shop.stored.v1": {"schema_ref": "demo_nodes.models.ModelStored"},
                    "onex.evt.shop.kept.v1": {"schema_ref": "demo_nodes.models.ModelStored"},
                },
            },
        ),
        "event_bus.publish_topic_metadata.onex.evt.shop.kept.v1.schema_ref",
        "one topic per result model",
    ),
    (
        "effect publishes commands",
        "node_shop_storage_effect",
        _set("event_bus.publish_topics", ["onex.cmd.shop.store-again.v1"]),
        "event_bus.publish_topics.0",
        "may not publish on cmd",
    ),
    (
        "handler_config is not a mapping",
        "node_shop_storage_effect",
        _set("handler_config", ["a", "b"]),
        "handler_config",
        "must be a mapping",
    ),
    (
        "effect subscribes to events",
        "node_shop_storage_effect",
        _set("event_bus.subscribe_topics", ["onex.evt.shop.order-accepted.v1"]),
        "event_bus.subscribe_topics.0",
        "may not subscribe to evt",
    ),
    (
        "reducer publishes events",
        "node_shop_state_reducer",
        _set("event_bus.publish_topics", ["onex.evt.shop.order-stored.v1"]),
        "event_bus.publish_topics.0",
        "may not publish on evt",
    ),
    (
        "orchestrator publishes intents",
        "node_shop_flow_orchestrator",
        _set("event_bus.publish_topics", ["onex.intent.shop.store-order.v1"]),
        "event_bus.publish_topics.0",
        "may not publish on intent",
    ),
    (
        "compute publishes",
        "node_shop_price_compute",
        _set("event_bus.publish_topics", ["onex.evt.shop.priced.v1"]),
        "event_bus.publish_topics.0",
        "may not publish on evt",
    ),
    (
        "compute subscribes to intents",
        "node_shop_price_compute",
        _set("event_bus.subscribe_topics", ["onex.intent.shop.store-order.v1"]),
        "event_bus.subscribe_topics.0",
        "may not subscribe to intent",
    ),
    (
        "subscribing to a DLQ",
        "node_shop_flow_orchestrator",
        _set("event_bus.subscribe_topics", ["onex.dlq.shop.place-order.v1"]),
        "event_bus.subscribe_topics.0",
        "may not subscribe to dlq",
    ),
    (
        "route topic not subscribed",
        "node_shop_flow_orchestrator",
        _set(f"{_H}.topic", "onex.cmd.shop.cancel-order.v1"),
        f"{_H}.topic",
        "subscribe_topics does not declare",
    ),
    (
        "handlers without topics",
        "node_shop_state_reducer",
        _set("event_bus.subscribe_topics", []),
        "event_bus",
        "subscribes to no topic",
    ),
    (
        "error_handling on a non-effect",
        "node_shop_price_compute",
        _set("error_handling", {"timeout_seconds": 1}),
        "error_handling",
        "only EFFECT",
    ),
]


@pytest.mark.parametrize(
    ("fixture", "mutate", "field", "reason"),
    [case[1:] for case in _BAD_FIELDS],
    ids=[case[0] for case in _BAD_FIELDS],
)
def test_bad_contract_names_file_field_and_reason(
    tmp_path: Path, fixture: str, mutate: Mutation, field: str | None, reason: str
) -> None:
    """A contract breaking one rule is refused with its file, the field and why."""
    data = _valid(fixture)
    mutate(data)
    path = _write(tmp_path, data)
    error = _refused(path)
    assert error.file == str(path)
    assert error.field == field
    assert reason in error.reason
    assert str(path) in str(error)


def test_effect_result_topics_and_handler_config_are_loaded(tmp_path: Path) -> None:
    """An EFFECT's evt topics load as results (topic and model), its handler_config as given."""
    data = _valid("node_shop_storage_effect")
    bus = data["event_bus"]
    assert isinstance(bus, dict)
    bus["publish_topics"] = ["onex.evt.shop.stored.v1", "onex.evt.shop.store-failed.v1"]
    bus["publish_topic_metadata"] = {
        "onex.evt.shop.stored.v1": {"schema_ref": "demo_nodes.models.ModelStored"},
        "onex.evt.shop.store-failed.v1": {"schema_ref": "demo_nodes.models.ModelStoreFailed"},
    }
    data["handler_config"] = {"table": "orders"}
    contract = load_contract(_write(tmp_path, data), allowlist=ALLOW)
    assert [(r.topic, r.model_module, r.model_name) for r in contract.results] == [
        ("onex.evt.shop.stored.v1", "demo_nodes.models", "ModelStored"),
        ("onex.evt.shop.store-failed.v1", "demo_nodes.models", "ModelStoreFailed"),
    ]
    assert contract.handler_config == {"table": "orders"}


def test_core_validator_error_names_the_file(tmp_path: Path) -> None:
    """A rule core enforces in its own validators (no field path) still names file and reason."""
    data = _valid("node_shop_price_compute")
    del data["performance"]
    error = _refused(_write(tmp_path, data))
    assert error.file is not None
    assert "single_operation_max_ms" in error.reason


# -- bad YAML ---------------------------------------------------------------------------------


def test_unsafe_yaml_tag_is_refused_and_never_executed(tmp_path: Path) -> None:
    """A python/object tag is refused as a YAML error; the code it names never runs."""
    marker = tmp_path / "pwned"
    path = _write_text(
        tmp_path,
        f'name: x\nnode_type: !!python/object/apply:os.system ["touch {marker}"]\n',
    )
    error = _refused(path)
    assert error.file == str(path)
    assert "tag" in error.reason
    assert "line 2" in error.reason
    assert not marker.exists()


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/name:os.system\n",
        "a: !!python/module:os\n",
        "a: !custom {x: 1}\n",
        "a: !!python/tuple [1, 2]\n",
    ],
)
def test_python_and_custom_tags_are_refused(tmp_path: Path, text: str) -> None:
    """Only YAML's safe types are constructed: python and application tags are refused."""
    with pytest.raises(ProtocolConfigurationError):
        load_yaml_mapping(_write_text(tmp_path, text))


def test_duplicate_key_is_refused_with_its_line(tmp_path: Path) -> None:
    """A key given twice is an error (not silently last-wins), naming the key and line."""
    path = _write_text(tmp_path, "name: a\ndescription: d\nname: b\n")
    error = _refused(path)
    assert error.file == str(path)
    assert "duplicate key 'name'" in error.reason
    assert "line 3" in error.reason


def test_nested_duplicate_key_is_refused(tmp_path: Path) -> None:
    """Duplicate keys are refused at any depth."""
    path = _write_text(tmp_path, "event_bus:\n  subscribe_topics: []\n  subscribe_topics: [x]\n")
    assert "duplicate key" in _refused(path).reason


@pytest.mark.parametrize(
    ("text", "kind"),
    [("- a\n- b\n", "list"), ("just a string\n", "str"), ("", "NoneType"), ("42\n", "int")],
)
def test_non_mapping_document_is_refused(tmp_path: Path, text: str, kind: str) -> None:
    """A contract whose top level is not a mapping is refused, saying what it is."""
    path = _write_text(tmp_path, text)
    error = _refused(path)
    assert error.file == str(path)
    assert f"not {kind}" in error.reason


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    """A file over the size limit is refused by size, without being parsed."""
    path = _write_text(tmp_path, "name: x\n# " + "x" * MAX_YAML_BYTES + "\n")
    error = _refused(path)
    assert error.file == str(path)
    assert "bytes, more than the" in error.reason


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 are refused as such."""
    error = _refused(_write_text(tmp_path, b"name: \xff\xfe\n"))
    assert "UTF-8" in error.reason


def test_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    """Broken YAML is refused with the position of the problem."""
    error = _refused(_write_text(tmp_path, "name: x\nevent_bus: [unclosed\n"))
    assert "line" in error.reason
    assert "column" in error.reason


def test_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    """A path that cannot be read is a typed error naming the file."""
    error = _refused(tmp_path / "absent" / "contract.yaml")
    assert error.file is not None
    assert "cannot read" in error.reason


def test_a_fifo_is_refused_without_being_read(tmp_path: Path) -> None:
    """A contract path that is a FIFO is refused naming the file and what it is, at once (a read
    would wait for a writer forever)."""
    fifo = tmp_path / "contract.yaml"
    os.mkfifo(fifo)
    error = _refused(fifo)
    assert error.file == str(fifo)
    assert error.reason == "is a FIFO (named pipe), not a regular file: refused without reading"


def test_a_device_is_refused_without_being_read() -> None:
    """A character device (an endless /dev/zero) is refused naming the file, never read."""
    error = _refused(Path("/dev/zero"))
    assert error.file == "/dev/zero"
    assert error.reason.startswith("is a character device, not a regular file")


def test_load_contracts_reports_a_fifo_among_the_errors(tmp_path: Path) -> None:
    """A FIFO among valid contracts fails the load with its file and reason listed."""
    _write(tmp_path / "node_ok", _valid("node_shop_price_compute"))
    (tmp_path / "node_pipe").mkdir()
    os.mkfifo(tmp_path / "node_pipe" / "contract.yaml")
    files = discover_contract_files([tmp_path], allowlist=ALLOW, use_entry_points=False)
    with pytest.raises(ContractLoadError) as caught:
        load_contracts(files, allowlist=ALLOW)
    ((file, reason),) = [(e.file, e.reason) for e in caught.value.errors]
    assert file == str(tmp_path / "node_pipe" / "contract.yaml")
    assert "FIFO" in reason


# -- discovery and all-or-nothing loading -----------------------------------------------------


def test_symlink_escaping_the_contract_directory_is_refused(tmp_path: Path) -> None:
    """A contract.yaml that resolves outside its configured directory is path traversal."""
    outside = tmp_path / "outside"
    _write(outside, _valid("node_shop_price_compute"))
    root = tmp_path / "root" / "node_x"
    root.mkdir(parents=True)
    (root / "contract.yaml").symlink_to(outside / "node" / "contract.yaml")
    with pytest.raises(ProtocolConfigurationError) as caught:
        discover_contract_files([tmp_path / "root"], allowlist=ALLOW, use_entry_points=False)
    assert caught.value.file is not None
    assert caught.value.file.endswith("contract.yaml")
    assert "path traversal" in caught.value.reason


def test_symlink_inside_the_contract_directory_is_followed(tmp_path: Path) -> None:
    """A symlink that stays inside the directory is fine and yields the file once."""
    root = tmp_path / "root"
    real = _write(root, _valid("node_shop_price_compute"), name="node_real")
    alias = root / "node_alias"
    alias.mkdir()
    (alias / "contract.yaml").symlink_to(real)
    found = discover_contract_files([root], allowlist=ALLOW, use_entry_points=False)
    assert found == [real.resolve()]


def test_missing_contract_directory_is_refused(tmp_path: Path) -> None:
    """A configured directory that does not exist is a configuration error."""
    with pytest.raises(ProtocolConfigurationError) as caught:
        discover_contract_files([tmp_path / "nope"], allowlist=ALLOW, use_entry_points=False)
    assert caught.value.field == "contract_dirs"


def test_load_contracts_is_all_or_nothing_and_reports_every_error(tmp_path: Path) -> None:
    """One valid and two bad contracts: nothing is returned and both problems are listed."""
    good = _write(tmp_path, _valid("node_shop_price_compute"), name="good")
    bad_archetype = _valid("node_shop_storage_effect")
    bad_archetype["node_type"] = "WIZARD"
    first_bad = _write(tmp_path, bad_archetype, name="bad1")
    second_bad = _write_text(tmp_path, "name: a\nname: b\n", name="bad2")
    with pytest.raises(ContractLoadError) as caught:
        load_contracts([good, first_bad, second_bad], allowlist=ALLOW)
    error = caught.value
    assert [e.file for e in error.errors] == [str(first_bad), str(second_bad)]
    assert error.errors[0].field == "node_type"
    assert "2 contract error(s)" in str(error)
    assert str(first_bad) in str(error)
    assert str(second_bad) in str(error)
    assert error.file is None  # several files: each error names its own


def test_single_error_keeps_its_file_and_field_on_the_aggregate(tmp_path: Path) -> None:
    """With one bad contract the aggregate error carries that file and field itself."""
    data = _valid("node_shop_storage_effect")
    data["node_type"] = "WIZARD"
    path = _write(tmp_path, data)
    with pytest.raises(ContractLoadError) as caught:
        load_contracts([path], allowlist=ALLOW)
    assert caught.value.file == str(path)
    assert caught.value.field == "node_type"


def test_duplicate_node_names_are_refused(tmp_path: Path) -> None:
    """Two contracts declaring the same node name are refused, naming the second file."""
    first = _write(tmp_path, _valid("node_shop_price_compute"), name="a")
    second = _write(tmp_path, _valid("node_shop_price_compute"), name="b")
    with pytest.raises(ContractLoadError) as caught:
        load_contracts([first, second], allowlist=ALLOW)
    (error,) = caught.value.errors
    assert error.file == str(second)
    assert error.field == "name"
    assert str(first) in error.reason


# -- plugin loader ----------------------------------------------------------------------------


def test_load_class_imports_an_allowlisted_class() -> None:
    """A class inside the allowlist is imported and returned."""
    cls = load_class(
        "omnibase_infra.event_bus.inmemory", "EventBusInmemory", DEFAULT_ALLOWLIST, where="t"
    )
    assert cls is EventBusInmemory


def test_module_outside_the_allowlist_is_never_imported() -> None:
    """An unlisted module is refused before import: it does not appear in sys.modules."""
    module = "tabnanny"
    assert module not in sys.modules
    with pytest.raises(ProtocolConfigurationError) as caught:
        load_class(module, "NannyNag", DEFAULT_ALLOWLIST, where="handler.module")
    assert module not in sys.modules
    assert caught.value.field == "handler.module"


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("omnibase_infra", True),
        ("omnibase_infra.handlers.x", True),
        ("omnibase_infra_evil", False),
        ("omnibase_infrastructure.x", False),
        ("omnibase_core.models.x", True),
        ("omnibase_core.nodes", False),
        ("omnibase_core", False),
    ],
)
def test_allowlist_matches_whole_package_prefixes(module: str, allowed: bool) -> None:
    """A prefix allows itself and its submodules, never a sibling that shares its spelling."""
    if allowed:
        check_module_allowed(module, DEFAULT_ALLOWLIST, where="t")
    else:
        with pytest.raises(ProtocolConfigurationError):
            check_module_allowed(module, DEFAULT_ALLOWLIST, where="t")


def test_allowlist_entry_with_trailing_dot_works() -> None:
    """An allowlist entry written as 'pkg.' means the package pkg."""
    check_module_allowed("demo_nodes.handlers", ("demo_nodes.",), where="t")


def test_load_class_reports_missing_modules_and_non_classes() -> None:
    """An allowlisted module that does not exist, or a name that is not a class, is refused."""
    with pytest.raises(ProtocolConfigurationError) as missing:
        load_class("omnibase_infra.does_not_exist", "X", DEFAULT_ALLOWLIST, where="t")
    assert "cannot import" in missing.value.reason
    with pytest.raises(ProtocolConfigurationError) as not_class:
        load_class("omnibase_infra.event_bus.topics", "parse_topic", DEFAULT_ALLOWLIST, where="t")
    assert "has no class" in not_class.value.reason
    with pytest.raises(ProtocolConfigurationError):
        load_class("omnibase_infra.event_bus.topics", "Nope", DEFAULT_ALLOWLIST, where="t")

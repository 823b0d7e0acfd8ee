"""The PostgreSQL adapter's operations are checked when its contract is validated: a statement
whose placeholders differ from its declared parameters, a bad name, or no operation at all is
refused naming the contract file, the handler_config field and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from omnibase_infra.runtime.contracts.contract_loader import load_contract
from omnibase_infra.runtime.contracts.plugin_loader import DEFAULT_ALLOWLIST, route_import_problems

PACKAGED = (
    Path(__file__).parents[4]
    / "src/omnibase_infra/nodes/node_postgres_adapter_effect/contract.yaml"
)


def _problems(tmp_path: Path, operations: object) -> list[tuple[str | None, str | None, str]]:
    data = yaml.safe_load(PACKAGED.read_text())
    data["handler_config"] = {"operations": operations}
    path = tmp_path / "node" / "contract.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(data))
    contract = load_contract(path, allowlist=DEFAULT_ALLOWLIST)
    return [
        (p.file and Path(p.file).name, p.field, p.reason)
        for p in route_import_problems([contract], DEFAULT_ALLOWLIST)
    ]


def test_the_packaged_contract_has_no_problem(tmp_path: Path) -> None:
    """The packaged operations are valid as shipped."""
    assert (
        _problems(tmp_path, yaml.safe_load(PACKAGED.read_text())["handler_config"]["operations"])
        == []
    )


@pytest.mark.parametrize(
    ("operations", "field", "reason"),
    [
        (
            {"get": {"sql": "SELECT * FROM t WHERE a = $1 AND b = $2", "params": ["a"]}},
            "handler_config.operations.get",
            "uses placeholders $1, $2 but declares 1 parameter(s)",
        ),
        (
            {"get": {"sql": "SELECT * FROM t WHERE a = $2", "params": ["a"]}},
            "handler_config.operations.get",
            "must use exactly $1..$1",
        ),
        (
            {"get": {"sql": "SELECT $1", "params": ["a", "a"]}},
            "handler_config.operations.get",
            "unique",
        ),
        (
            {"get": {"sql": "SELECT 1", "params": ["Bad-Name"]}},
            "handler_config.operations.get",
            "not a lower-case identifier",
        ),
        ({"Get All": {"sql": "SELECT 1"}}, "handler_config.operations", "not a lower-case name"),
        ({"get": {"sql": ""}}, "handler_config.operations.get.sql", "at least 1 character"),
        (
            {"get": {"sql": "SELECT 1", "returns": "cursor"}},
            "handler_config.operations.get.returns",
            "'rows' or 'status'",
        ),
        ({}, "handler_config.operations", "at least 1 item"),
    ],
    ids=[
        "more placeholders",
        "skipped placeholder",
        "duplicate parameter",
        "bad parameter name",
        "bad operation name",
        "empty sql",
        "unknown returns",
        "no operations",
    ],
)
def test_a_bad_operation_is_refused_naming_file_field_and_reason(
    tmp_path: Path, operations: object, field: str, reason: str
) -> None:
    """One problem per bad operation set, naming the contract, the field and why."""
    ((file, found_field, found_reason),) = _problems(tmp_path, operations)
    assert file == "contract.yaml"
    assert found_field == field
    assert reason in found_reason

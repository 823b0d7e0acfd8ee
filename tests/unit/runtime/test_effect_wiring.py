"""What the runtime makes of an EFFECT contract's error_handling at start: a handler fallback
must name a loaded single-handler EFFECT node and not close a cycle; a credential refresh
asked for names a configured handler; ``auto`` refreshes Vault for ``transport: vault``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.resilience.effect.model_effect_policy import ModelEffectPolicy
from omnibase_infra.runtime.contracts.contract_loader import load_contract
from omnibase_infra.runtime.contracts.model_node_contract import ModelNodeContract
from omnibase_infra.runtime.effect_outbox import outbox_transaction
from omnibase_infra.runtime.effect_wiring import fallback_problems, guard_effect

ALLOWLIST = ("omnibase_infra", "tests_effect_nodes")


def _effect(tmp_path: Path, name: str, **error_handling: object) -> ModelNodeContract:
    """A minimal EFFECT contract named ``name`` with ``error_handling``, loaded."""
    folder = tmp_path / name
    folder.mkdir()
    v1 = {"major": 1, "minor": 0, "patch": 0}
    contract = {
        "name": name,
        "contract_version": v1,
        "description": "test",
        "node_type": "EFFECT_GENERIC",
        "input_model": "tests_effect_nodes.ModelIn",
        "output_model": "tests_effect_nodes.ModelIn",
        "io_operations": [{"operation_type": "t.op"}],
        "handler_routing": {
            "version": v1,
            "handlers": [
                {
                    "handler": {"name": "HandlerT", "module": f"tests_effect_nodes.{name}"},
                    "operation": "t.op",
                }
            ],
        },
        "error_handling": {"idempotency": {"enabled": False}, **error_handling},
    }
    (folder / "contract.yaml").write_text(yaml.safe_dump(contract), encoding="utf-8")
    return load_contract(folder / "contract.yaml", allowlist=ALLOWLIST)


def _fallback(name: str) -> dict[str, object]:
    return {"fallback": {"kind": "handler", "handler": name}}


def test_a_fallback_to_a_loaded_effect_node_is_accepted(tmp_path: Path) -> None:
    """A cache effect falling back to a database effect the runtime loads is no problem."""
    nodes = [_effect(tmp_path, "cache", **_fallback("db")), _effect(tmp_path, "db")]
    assert fallback_problems(nodes) == []


def test_a_fallback_naming_no_loaded_effect_is_refused_with_file_and_field(
    tmp_path: Path,
) -> None:
    """A fallback naming a node the runtime does not load is a problem naming the field."""
    (problem,) = fallback_problems([_effect(tmp_path, "cache", **_fallback("nowhere"))])
    assert problem.field == "error_handling.fallback.handler"
    assert "'nowhere'" in str(problem.message)


def test_fallbacks_forming_a_cycle_are_refused(tmp_path: Path) -> None:
    """Two effects falling back to each other would hand a message back and forth: refused."""
    nodes = [_effect(tmp_path, "a", **_fallback("b")), _effect(tmp_path, "b", **_fallback("a"))]
    problems = fallback_problems(nodes)
    assert len(problems) == 2
    assert all("cycle" in str(problem.message) for problem in problems)


def test_a_refresh_asked_for_without_its_handler_fails_the_start(tmp_path: Path) -> None:
    """``credential_refresh: vault`` without a configured Vault is a configuration error
    naming the field; ``auto`` without one simply refreshes nothing."""

    class Handler:
        async def handle(self, context: object) -> None:
            """Never called."""

    container = ModelONEXContainer()
    asked = _effect(tmp_path, "asked", credential_refresh="vault", transport="vault")
    with pytest.raises(ProtocolConfigurationError) as raised:
        guard_effect(asked, Handler(), container, ())
    assert raised.value.field == "error_handling.credential_refresh"
    automatic = _effect(tmp_path, "automatic", transport="vault")
    guard_effect(automatic, Handler(), container, ())


def test_auto_refreshes_vault_credentials_only_for_a_vault_transport() -> None:
    """``auto`` means Vault for ``transport: vault`` and nothing otherwise; explicit kinds
    are taken as written."""
    assert ModelEffectPolicy(transport=EnumInfraTransportType.VAULT).refresher_kind == "vault"
    assert ModelEffectPolicy(transport=EnumInfraTransportType.DATABASE).refresher_kind is None
    assert ModelEffectPolicy(credential_refresh="oidc").refresher_kind == "oidc"
    assert (
        ModelEffectPolicy(
            transport=EnumInfraTransportType.VAULT, credential_refresh="none"
        ).refresher_kind
        is None
    )


def test_an_outbox_effect_needs_postgres_and_no_steps(tmp_path: Path) -> None:
    """``outbox: true`` without PostgreSQL fails the start naming the field; outbox and
    steps together are refused by the contract model (steps commit one by one)."""

    class Handler:
        async def handle(self, context: object) -> None:
            """Never called."""

    outboxed = _effect(tmp_path, "outboxed", outbox=True)
    with pytest.raises(ProtocolConfigurationError) as raised:
        guard_effect(outboxed, Handler(), ModelONEXContainer(), ())
    assert raised.value.field == "error_handling.outbox"
    with pytest.raises(ValueError, match="outbox and steps"):
        ModelEffectPolicy.model_validate({"outbox": True, "steps": [{"name": "a"}]})


def test_outbox_transaction_outside_an_outbox_effect_says_what_is_missing() -> None:
    """A handler asking for the outbox transaction without ``outbox: true`` is told so."""
    with pytest.raises(ProtocolConfigurationError) as raised:
        outbox_transaction()
    assert raised.value.field == "error_handling.outbox"

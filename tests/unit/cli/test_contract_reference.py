"""docs/reference/contracts.md is what `onex-infra contracts docs` generates from the contract
models, the loader's rules and broken contracts loaded for real."""

from __future__ import annotations

from pathlib import Path

from omnibase_infra.cli.contract_errors import contract_error_examples
from omnibase_infra.cli.contract_reference import render_contract_reference

DOC = Path(__file__).parents[3] / "docs" / "reference" / "contracts.md"


def test_contract_reference_is_current() -> None:
    """The committed reference equals the generated one (regenerate with
    `onex-infra contracts docs > docs/reference/contracts.md`)."""
    assert DOC.read_text(encoding="utf-8") == render_contract_reference()


def test_reference_covers_the_sections_the_runtime_acts_on() -> None:
    """Core's common fields, each archetype's own, and this package's error_handling appear."""
    text = render_contract_reference()
    assert "| `name` | str | required |" in text
    assert "### ModelContractReducer" in text
    assert "| `state_machine` |" in text
    assert "### `error_handling`" in text
    assert "| `timeout_seconds` | float | `10.0` |" in text
    assert "| `REDUCER_GENERIC` | reducer | `ModelContractReducer` | cmd, evt | intent |" in text


def test_error_examples_name_the_field_the_loader_blames() -> None:
    """Each broken contract fails to load, and the table keeps the field the loader named."""
    examples = {example.mistake: example for example in contract_error_examples()}
    outside = examples["a handler module outside `plugin_allowlist`"]
    assert outside.field == "handler_routing.handlers.0.handler.module"
    assert "allowlist" in outside.reason
    wrong_kind = examples["an orchestrator publishes on an intent topic"]
    assert wrong_kind.field == "event_bus.publish_topics.0"

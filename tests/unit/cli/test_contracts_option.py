"""`--contracts` adds directories to the config's `contract_dirs`; it never drops them."""

from __future__ import annotations

from pathlib import Path

from omnibase_infra.cli.cmd_runtime import load_config


def test_contracts_option_adds_to_the_config_file_directories(tmp_path: Path) -> None:
    """A directory from the file and one from `--contracts` are both loaded, file's first."""
    config = tmp_path / "runtime.yaml"
    config.write_text("contract_dirs: [from-file]\n")

    loaded = load_config(config, [tmp_path / "from-flag"])

    assert loaded.contract_dirs == [Path("from-file"), tmp_path / "from-flag"]


def test_without_contracts_option_the_file_directories_stand(tmp_path: Path) -> None:
    """No `--contracts`: the config's own directories, unchanged."""
    config = tmp_path / "runtime.yaml"
    config.write_text("contract_dirs: [a, b]\n")

    assert load_config(config, None).contract_dirs == [Path("a"), Path("b")]

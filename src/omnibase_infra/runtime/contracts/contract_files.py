"""Where a runtime's contracts are: ``contract.yaml`` under the contract directories and the
allowlisted ``onex.nodes`` entry-point packages, found without importing any of them.

Apart from the loader (core's contract models) because a Kafka runtime reads the contracts'
YAML before anything heavy imports, to begin joining its consumer groups
(``runtime.expected_groups``).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.runtime.contracts.plugin_loader import check_module_allowed

__all__ = ["CONTRACT_FILE_NAME", "ENTRY_POINT_GROUP", "discover_contract_files"]

CONTRACT_FILE_NAME = "contract.yaml"
ENTRY_POINT_GROUP = "onex.nodes"

_log = get_logger(__name__)


def discover_contract_files(
    directories: Iterable[Path], *, allowlist: Sequence[str], use_entry_points: bool = True
) -> list[Path]:
    """Every ``contract.yaml`` under the configured directories and entry-point packages.

    Entry-point packages are located with ``find_spec`` (no import, so no code runs) and must be
    inside the allowlist. A file reached through a symlink that leaves its root is refused, and
    so is a symlinked directory that leaves it (``_refuse_links_out``).
    """
    configured = [Path(d) for d in directories]
    roots = list(configured)
    if use_entry_points:
        roots.extend(_entry_point_roots(allowlist))
    found: dict[Path, None] = {}
    for index, root in enumerate(roots):
        before = len(found)
        resolved_root = root.resolve()
        if not resolved_root.is_dir():
            raise ProtocolConfigurationError(
                "contract directory does not exist", file=str(root), field="contract_dirs"
            )
        _refuse_links_out(resolved_root, [r.resolve() for r in roots])
        for path in sorted(resolved_root.rglob(CONTRACT_FILE_NAME)):
            real = path.resolve()
            if not real.is_relative_to(resolved_root):
                raise ProtocolConfigurationError(
                    f"resolves outside its contract directory {resolved_root} "
                    "(path traversal through a symlink)",
                    file=str(path),
                )
            found[real] = None
        if index < len(configured):
            _report_directory(root, list(found)[before:])
    return list(found)


def _report_directory(root: Path, files: Sequence[Path]) -> None:
    """Say which node folders a ``contract_dirs`` entry held: a node missing from the list was
    not found there, and an entry holding none is most likely the wrong path."""
    if not files:
        _log.warning(
            "no contract.yaml under this contract_dirs entry (relative paths are from the "
            "folder onex-infra runs in)",
            directory=str(root),
            resolved=str(root.resolve()),
        )
        return
    _log.info(
        "contracts found", directory=str(root), nodes=sorted(path.parent.name for path in files)
    )


def _refuse_links_out(root: Path, roots: Sequence[Path]) -> None:
    """Refuse a symlinked directory under ``root`` that leads outside every contract
    directory (``roots``), naming the fix.

    Not followed, and not skipped in silence (``rglob`` does not enter symlinked directories):
    what the runtime loads stays what ``contract_dirs`` names, the trust boundary the operator
    drew with the plugin allowlist. A link into a configured directory adds nothing (its
    contracts are found through the real path), so it is left alone.
    """
    for directory, subdirectories, _ in os.walk(root):
        for name in subdirectories:
            link = Path(directory) / name
            if not link.is_symlink():
                continue
            target = link.resolve()
            if not any(target.is_relative_to(allowed) for allowed in roots):
                raise ProtocolConfigurationError(
                    f"is a symlink to a directory outside the contract directories ({target}); "
                    f"symlinked directories are not followed: add {target} to contract_dirs "
                    "(or --contracts) to load its contracts",
                    file=str(link),
                    field="contract_dirs",
                )


def _entry_point_roots(allowlist: Sequence[str]) -> list[Path]:
    """Directories of the allowlisted ``onex.nodes`` entry points; others are skipped.

    Every installed distribution can declare entry points (core declares its own tooling
    nodes), so one outside the allowlist is not an error: it is simply not trusted.
    """
    roots: list[Path] = []
    skipped: list[str] = []
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            check_module_allowed(entry.value, allowlist, where=f"entry point {entry.name}")
        except ProtocolConfigurationError:
            skipped.append(entry.value)
            continue
        spec = importlib.util.find_spec(entry.value)
        locations = spec.submodule_search_locations if spec else None
        if not locations:
            raise ProtocolConfigurationError(
                f"entry point {entry.name} = {entry.value} is not a package with contracts",
                field=ENTRY_POINT_GROUP,
            )
        roots.extend(Path(location) for location in locations)
    if skipped:
        _log.info(
            "installed node packages not in plugin_allowlist were not loaded (list a package "
            "there to load its nodes)",
            count=len(skipped),
            first=skipped[0],
        )
    return roots

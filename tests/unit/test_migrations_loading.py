"""Loading migration files: names, versions, duplicates and checksums (no database)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from omnibase_infra.migrations import MigrationError, load_migrations, package_migrations


def _write(directory: Path, files: dict[str, bytes]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, content in files.items():
        (directory / name).write_bytes(content)
    return directory


def test_files_load_sorted_by_version(tmp_path: Path) -> None:
    """Migrations come back ordered by number, with name, SQL and a sha256 checksum."""
    source = _write(tmp_path, {"0010_b.sql": b"SELECT 2;", "0002_a.sql": b"SELECT 1;"})
    loaded = load_migrations(source)
    assert [(m.version, m.name, m.sql) for m in loaded] == [
        (2, "a", "SELECT 1;"),
        (10, "b", "SELECT 2;"),
    ]
    assert all(len(m.checksum) == 64 for m in loaded)
    assert loaded[0].filename == "0002_a.sql"


def test_other_files_are_ignored(tmp_path: Path) -> None:
    """Only .sql files are migrations (the package's Python modules sit alongside)."""
    source = _write(tmp_path, {"0001_a.sql": b"SELECT 1;", "README.md": b"x", "runner.py": b""})
    assert [m.version for m in load_migrations(source)] == [1]


@pytest.mark.parametrize(
    "name", ["1_a.sql", "0001-a.sql", "0001_A.sql", "0000_zero.sql", "0001_.sql"]
)
def test_badly_named_file_is_refused(tmp_path: Path, name: str) -> None:
    """A .sql file not named NNNN_<name>.sql (from 0001, lowercase) is a MigrationError."""
    source = _write(tmp_path, {name: b"SELECT 1;"})
    with pytest.raises(MigrationError, match=re.escape("NNNN_<name>.sql")):
        load_migrations(source)


def test_duplicate_version_is_refused(tmp_path: Path) -> None:
    """Two files with one number (two areas picked it) is a MigrationError naming both."""
    first = _write(tmp_path / "one", {"0003_a.sql": b"SELECT 1;"})
    second = _write(tmp_path / "two", {"0003_b.sql": b"SELECT 2;"})
    with pytest.raises(MigrationError, match=re.escape("0003_a.sql")) as caught:
        load_migrations(first, second)
    assert "0003_b.sql" in caught.value.message


def test_line_endings_do_not_change_the_checksum(tmp_path: Path) -> None:
    """A checkout that converts LF to CRLF does not look like an edited migration."""
    unix = _write(tmp_path / "lf", {"0001_a.sql": b"CREATE TABLE t (id int);\nSELECT 1;\n"})
    windows = _write(
        tmp_path / "crlf", {"0001_a.sql": b"CREATE TABLE t (id int);\r\nSELECT 1;\r\n"}
    )
    assert load_migrations(unix)[0].checksum == load_migrations(windows)[0].checksum


def test_content_change_changes_the_checksum(tmp_path: Path) -> None:
    """Any edit to the SQL changes the checksum."""
    before = load_migrations(_write(tmp_path / "a", {"0001_a.sql": b"SELECT 1;"}))[0]
    after = load_migrations(_write(tmp_path / "b", {"0001_a.sql": b"SELECT 2;"}))[0]
    assert before.checksum != after.checksum


def test_package_files_load() -> None:
    """The package's own SQL files are well named and numbered uniquely."""
    shipped = load_migrations(package_migrations())
    assert [m.version for m in shipped] == sorted({m.version for m in shipped})

"""Versioned SQL migrations (``NNNN_<name>.sql`` files here) and the runner that applies them.

Add a file with the next free number; never edit a file once applied anywhere (its checksum is
recorded and checked). ``await apply_migrations(handler)`` at start applies what is pending.
"""

from omnibase_infra.migrations.errors import MigrationChecksumError, MigrationError
from omnibase_infra.migrations.model_migration import ModelMigration
from omnibase_infra.migrations.runner import (
    MIGRATIONS_TABLE,
    apply_migrations,
    load_migrations,
    package_migrations,
)

__all__ = [
    "MIGRATIONS_TABLE",
    "MigrationChecksumError",
    "MigrationError",
    "ModelMigration",
    "apply_migrations",
    "load_migrations",
    "package_migrations",
]

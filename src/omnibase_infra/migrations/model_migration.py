"""One versioned SQL migration file, as loaded (version, name, checksum, SQL)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelMigration"]


class ModelMigration(BaseModel):
    """A ``NNNN_<name>.sql`` file: applied once, in version order, never edited afterwards."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    name: str = Field(min_length=1)
    checksum: str = Field(min_length=64, max_length=64, description="sha256 of the SQL, hex")
    sql: str = Field(repr=False)

    @property
    def filename(self) -> str:
        """The file name the migration came from."""
        return f"{self.version:04d}_{self.name}.sql"

"""A parsed secret reference: where a secret lives, never the secret itself."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelSecretReference"]


class ModelSecretReference(BaseModel):
    """``vault://<mount>/<path>#<key>``, ``env://NAME`` or ``file:///abs/path``, parsed.

    Exactly the fields of its scheme are set: ``mount``, ``path`` and ``key`` for ``vault``,
    ``env_name`` for ``env``, ``file_path`` for ``file``. ``reference`` is the original text,
    safe to show in errors and logs (it names a place, not a value).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: str
    scheme: Literal["vault", "env", "file"]
    mount: str | None = None
    path: str | None = None
    key: str | None = None
    env_name: str | None = None
    file_path: PurePosixPath | None = None

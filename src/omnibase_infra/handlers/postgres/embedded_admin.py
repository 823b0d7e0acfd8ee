"""Creating and dropping databases on an embedded PostgreSQL, as its superuser."""

from __future__ import annotations

import re

import asyncpg
from pydantic import SecretStr

from omnibase_infra.errors import ProtocolConfigurationError
from omnibase_infra.handlers.postgres.embedded_process import HOST
from omnibase_infra.handlers.postgres.embedded_ready import POSTGRES_SUPERUSER

__all__ = ["create_database", "drop_database"]

_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


async def create_database(
    port: int, password: SecretStr, name: str, *, exist_ok: bool, connect_seconds: float
) -> None:
    """``CREATE DATABASE name`` (a lowercase identifier); ``exist_ok`` tolerates it existing."""
    quoted = _quoted_database(name)
    connection = await _admin_connection(port, password, connect_seconds)
    try:
        if exist_ok and await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", name
        ):
            return
        await connection.execute(f"CREATE DATABASE {quoted}")
    finally:
        await connection.close()


async def drop_database(
    port: int, password: SecretStr, name: str, *, connect_seconds: float
) -> None:
    """``DROP DATABASE IF EXISTS name WITH (FORCE)``: its open sessions are terminated."""
    quoted = _quoted_database(name)
    connection = await _admin_connection(port, password, connect_seconds)
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    finally:
        await connection.close()


def _quoted_database(name: str) -> str:
    # CREATE/DROP DATABASE take no parameters: only a strict identifier is ever formatted.
    if not _DATABASE_NAME.match(name) or name in ("postgres", "template0", "template1"):
        raise ProtocolConfigurationError(
            f"invalid database name {name!r}: use [a-z_][a-z0-9_]*, at most 63 characters",
            field="database",
        )
    return f'"{name}"'


async def _admin_connection(
    port: int, password: SecretStr, connect_seconds: float
) -> asyncpg.Connection[asyncpg.Record]:
    return await asyncpg.connect(
        host=HOST,
        port=port,
        user=POSTGRES_SUPERUSER,
        password=password.get_secret_value(),
        database="postgres",
        ssl=False,
        timeout=connect_seconds,
    )

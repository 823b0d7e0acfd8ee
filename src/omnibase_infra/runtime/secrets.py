"""Secret references, resolved at start: settings name where a secret lives, never the secret.

Three schemes:

- ``vault://<mount>/<path>#<key>``: the string under ``key`` in the latest version of the KV v2
  secret ``<path>`` of mount ``<mount>``, read through a started ``HandlerVault``;
- ``env://NAME``: the environment variable ``NAME`` (set and not empty);
- ``file:///abs/path``: the content of a regular file (one trailing line break dropped) that
  neither group nor others may read or write (``chmod 600``), at most 64 KiB.

Every resolved value is returned as a ``SecretStr`` and registered with the sanitiser, so its
literal value is masked in every later error, log line or reply. A reference that cannot be
resolved raises ``SecretResolutionError`` naming the reference (which names a place, not a
value) and why.

:func:`resolve_secret` resolves one reference; :func:`resolve_secret_fields` resolves every
``SecretStr`` field of a settings model (nested models, lists and dicts included): in a settings
file such a field holds a reference, or nothing (``None``) where a local set-up needs no secret.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator, BaseModel, SecretStr

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import ModelInfraErrorContext, RuntimeHostError, SecretResolutionError
from omnibase_infra.observability.logging import get_logger
from omnibase_infra.runtime.model_secret_reference import ModelSecretReference
from omnibase_infra.sanitize import register_secret

if TYPE_CHECKING:
    from omnibase_infra.handlers.vault.handler_vault import HandlerVault

__all__ = [
    "SECRET_REFERENCE_SCHEMES",
    "SecretReference",
    "is_secret_reference",
    "parse_secret_reference",
    "resolve_secret",
    "resolve_secret_fields",
]

SECRET_REFERENCE_SCHEMES = ("vault://", "env://", "file://")
_REFERENCE_FORMS = "vault://<mount>/<path>#<key>, env://NAME or file:///abs/path"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_SECRET_FILE_BYTES = 64 * 1024
# Group or others may read or write: the file is not private to its owner.
_SHARED_MODE_BITS = stat.S_IRGRP | stat.S_IWGRP | stat.S_IROTH | stat.S_IWOTH

_log = get_logger(__name__)


def is_secret_reference(value: str) -> bool:
    """Whether ``value`` is written as a secret reference (by its scheme; not validated)."""
    return value.startswith(SECRET_REFERENCE_SCHEMES)


def parse_secret_reference(reference: str) -> ModelSecretReference:
    """Parse a reference; raises ``SecretResolutionError`` naming it when it is malformed."""
    if reference.startswith("vault://"):
        location, sep, key = reference.removeprefix("vault://").partition("#")
        mount, _, path = location.strip("/").partition("/")
        segments = path.split("/")
        if not sep or not key or not mount or not path or ".." in segments or "" in segments:
            raise _error(reference, f"is malformed; expected {_REFERENCE_FORMS}")
        return ModelSecretReference(
            reference=reference, scheme="vault", mount=mount, path=path, key=key
        )
    if reference.startswith("env://"):
        name = reference.removeprefix("env://")
        if not _ENV_NAME.match(name):
            raise _error(reference, "is malformed; env:// takes a variable name ([A-Za-z_]\\w*)")
        return ModelSecretReference(reference=reference, scheme="env", env_name=name)
    if reference.startswith("file://"):
        raw = reference.removeprefix("file://")
        if not raw.startswith("/"):
            raise _error(reference, "is malformed; file:// takes an absolute path (file:///...)")
        file_path = PurePosixPath(raw)
        if ".." in file_path.parts:
            raise _error(reference, "is malformed; the path must not contain '..'")
        return ModelSecretReference(reference=reference, scheme="file", file_path=file_path)
    # Not a reference at all: most likely a literal secret, so it is neither named nor kept.
    raise SecretResolutionError(
        f"a secret reference was expected ({_REFERENCE_FORMS}), and the value given is not one "
        "(it is not shown: it may be a secret)",
        context=ModelInfraErrorContext(operation="resolve_secret"),
    )


def _check_reference(value: str) -> str:
    """Pydantic validator behind :data:`SecretReference`."""
    if not is_secret_reference(value):
        raise ValueError(f"must be a secret reference ({_REFERENCE_FORMS}), not a literal")
    try:
        parse_secret_reference(value)
    except SecretResolutionError as e:
        raise ValueError(e.message) from None
    return value


SecretReference = Annotated[str, AfterValidator(_check_reference)]
"""A settings field that must hold a well-formed secret reference (as text, to resolve later).

Give the model ``hide_input_in_errors=True``: a rejected literal must not echo in the error."""


async def resolve_secret(reference: str, *, vault: HandlerVault | None = None) -> SecretStr:
    """Resolve one reference to its value (registered with the sanitiser).

    ``vault`` is a started Vault handler, needed only for ``vault://`` references.
    """
    parsed = parse_secret_reference(reference)
    if parsed.scheme == "env":
        value = _read_env(parsed)
    elif parsed.scheme == "file":
        value = await asyncio.to_thread(_read_file, parsed)
    else:
        value = await _read_vault(parsed, vault)
    register_secret(value)
    _log.debug("secret resolved", reference=reference, scheme=parsed.scheme)
    return SecretStr(value)


async def resolve_secret_fields[ModelT: BaseModel](
    settings: ModelT,
    *,
    vault: HandlerVault | None = None,
    allow_literals: bool = False,
) -> ModelT:
    """A copy of ``settings`` in which every ``SecretStr`` holding a reference holds its value.

    Walks nested models, lists, tuples and dict values. A ``SecretStr`` that is not a reference
    is a literal secret: it raises ``SecretResolutionError`` (naming the field, not the value)
    unless ``allow_literals`` (programmatic set-ups and local development). Each reference is
    resolved once per call, however many fields name it.
    """
    cache: dict[str, SecretStr] = {}
    return await _resolve_model(settings, "", vault, allow_literals, cache)


async def _resolve_model[ModelT: BaseModel](
    model: ModelT,
    where: str,
    vault: HandlerVault | None,
    allow_literals: bool,
    cache: dict[str, SecretStr],
) -> ModelT:
    updates: dict[str, object] = {}
    for name in type(model).model_fields:
        value: object = getattr(model, name)
        resolved = await _resolve_value(value, f"{where}{name}", vault, allow_literals, cache)
        if resolved is not value:
            updates[name] = resolved
    return model.model_copy(update=updates) if updates else model


async def _resolve_value(
    value: object,
    where: str,
    vault: HandlerVault | None,
    allow_literals: bool,
    cache: dict[str, SecretStr],
) -> object:
    """``value`` with its references resolved (the same object when nothing changed)."""
    if isinstance(value, SecretStr):
        text = value.get_secret_value()
        if is_secret_reference(text):
            if text not in cache:
                cache[text] = await resolve_secret(text, vault=vault)
            return cache[text]
        register_secret(text)
        if allow_literals:
            return value
        raise SecretResolutionError(
            f"settings field '{where}' holds a literal secret; secrets in settings must be "
            f"references ({_REFERENCE_FORMS})",
            context=ModelInfraErrorContext(operation="resolve_secret"),
            field=where,
        )
    if isinstance(value, BaseModel):
        return await _resolve_model(value, f"{where}.", vault, allow_literals, cache)
    if isinstance(value, list | tuple):
        items = [
            await _resolve_value(item, f"{where}[{index}]", vault, allow_literals, cache)
            for index, item in enumerate(value)
        ]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    if isinstance(value, dict):
        entries = {
            key: await _resolve_value(item, f"{where}[{key!r}]", vault, allow_literals, cache)
            for key, item in value.items()
        }
        if all(entries[key] is item for key, item in value.items()):
            return value
        return entries
    return value


def _read_env(parsed: ModelSecretReference) -> str:
    name = parsed.env_name or ""
    value = os.environ.get(name)
    if value is None:
        raise _error(parsed.reference, f"names the environment variable {name}, which is not set")
    if not value:
        raise _error(parsed.reference, f"names the environment variable {name}, which is empty")
    return value


def _read_file(parsed: ModelSecretReference) -> str:
    """Read a private secret file (runs in a thread: file I/O blocks)."""
    path = str(parsed.file_path)
    try:
        # O_NONBLOCK: a FIFO planted at the path must not hang the start (it is refused below).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise _error(parsed.reference, "names a file that does not exist") from None
    except OSError as e:
        raise _error(parsed.reference, f"names a file that cannot be opened ({e.strerror})") from e
    try:
        # fstat on the open descriptor: the file checked is the file read.
        _check_private_regular_file(parsed.reference, os.fstat(fd))
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(_MAX_SECRET_FILE_BYTES + 1)
    finally:
        os.close(fd)
    if len(raw) > _MAX_SECRET_FILE_BYTES:
        raise _error(parsed.reference, f"names a file over {_MAX_SECRET_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _error(parsed.reference, "names a file that is not UTF-8 text") from None
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise _error(parsed.reference, "names an empty file")
    return text


def _check_private_regular_file(reference: str, info: os.stat_result) -> None:
    """Refuse anything but a regular file that only its owner may read or write."""
    if not stat.S_ISREG(info.st_mode):
        raise _error(reference, "names something that is not a regular file")
    if info.st_mode & _SHARED_MODE_BITS:
        mode = stat.S_IMODE(info.st_mode)
        raise _error(
            reference,
            f"names a file that group or others can access (mode {mode:04o}); "
            "make it private to its owner (chmod 600)",
        )
    if info.st_size > _MAX_SECRET_FILE_BYTES:
        raise _error(reference, f"names a file over {_MAX_SECRET_FILE_BYTES} bytes")


async def _read_vault(parsed: ModelSecretReference, vault: HandlerVault | None) -> str:
    context = ModelInfraErrorContext(
        transport_type=EnumInfraTransportType.VAULT, operation="resolve_secret"
    )
    if vault is None:
        raise _error(parsed.reference, "needs Vault, and no Vault handler is configured", context)
    try:
        secret = await vault.kv_read(parsed.path or "", mount=parsed.mount)
    except RuntimeHostError as e:
        raise SecretResolutionError(
            f"secret reference '{parsed.reference}' could not be read from Vault "
            f"({type(e).__name__})",
            context=context,
            retriable=e.retriable,
            reference=parsed.reference,
        ) from e
    if secret is None:
        raise _error(parsed.reference, "names a Vault secret that does not exist", context)
    value = secret.data.get(parsed.key or "")
    if value is None:
        raise _error(
            parsed.reference, f"names a key the Vault secret lacks ({parsed.key})", context
        )
    if not isinstance(value, str):
        raise _error(parsed.reference, "names a Vault value that is not a string", context)
    return value


def _error(
    reference: str, why: str, context: ModelInfraErrorContext | None = None
) -> SecretResolutionError:
    """``SecretResolutionError`` naming the reference and why (never a secret value)."""
    return SecretResolutionError(
        f"secret reference '{reference}' {why}",
        context=context or ModelInfraErrorContext(operation="resolve_secret"),
        reference=reference,
    )

"""Keycloak's admin REST API for roles: realm and client role lookups and users' role mappings.

Calls go to ``<admin_url>`` (``<base>/admin/realms/<realm>``) with the configured client's
service-account token (client_credentials grant, cached by ``HandlerKeycloak``); the client's
service account needs the ``realm-management`` roles ``view-realm``, ``view-clients``,
``view-users`` and ``manage-users``. A 401 fetches a new token once and repeats the call (the
token may have been revoked or the realm's keys rotated).

Errors are translated here: a role, client or user that does not exist is
``KeycloakNotFoundError`` (final, the request's); 401/403 are ``InfraAuthenticationError``,
5xx and 429 ``InfraUnavailableError``, transport failures as in ``httpx_support``. No message
carries the token: it travels only in the ``Authorization`` header.

Keycloak's DELETE on a role-mapping with no body removes *every* mapping of the user; this
client never sends one (a call naming no role is refused before any request).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol
from urllib.parse import quote

import httpx
from pydantic import JsonValue, TypeAdapter, ValidationError

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraConnectionError,
    ModelInfraErrorContext,
    ProtocolConfigurationError,
    RuntimeHostError,
)
from omnibase_infra.handlers.httpx_support import error_for_status
from omnibase_infra.handlers.oidc.errors import KeycloakNotFoundError
from omnibase_infra.handlers.oidc.model_access_token import ModelAccessToken
from omnibase_infra.handlers.oidc.model_keycloak_role import ModelKeycloakRole
from omnibase_infra.handlers.oidc.model_keycloak_settings import ModelKeycloakSettings

__all__ = ["KeycloakAdminApi"]

_ROLES: TypeAdapter[list[ModelKeycloakRole]] = TypeAdapter(list[ModelKeycloakRole])
_ROLE: TypeAdapter[ModelKeycloakRole] = TypeAdapter(ModelKeycloakRole)
_OBJECTS: TypeAdapter[list[dict[str, JsonValue]]] = TypeAdapter(list[dict[str, JsonValue]])
_ERROR: TypeAdapter[dict[str, JsonValue]] = TypeAdapter(dict[str, JsonValue])


class _Send(Protocol):
    def __call__(
        self,
        method: str,
        url: str,
        context: ModelInfraErrorContext,
        *,
        params: Mapping[str, str] | None = ...,
        json_body: JsonValue = ...,
        headers: Mapping[str, str] | None = ...,
    ) -> Awaitable[tuple[httpx.Response, bytes]]: ...


type _Token = Callable[[bool], Awaitable[ModelAccessToken]]


class KeycloakAdminApi:
    """Role lookups and role mappings of one realm (see module docstring)."""

    def __init__(self, settings: ModelKeycloakSettings, send: _Send, token: _Token) -> None:
        self._settings = settings
        self._send = send
        self._token = token
        self._client_ids: dict[str, str] = {}  # clientId -> internal id (stable per client)
        # Made once per operation: a context sanitises its fields (~16 regex substitutions).
        self._contexts: dict[str, ModelInfraErrorContext] = {}

    # -- lookups -----------------------------------------------------------------------------

    async def realm_roles(self) -> list[ModelKeycloakRole]:
        """Every role of the realm."""
        return _parse(_ROLES, await self._get("/roles", "realm_roles"), "realm_roles")

    async def realm_role(self, name: str) -> ModelKeycloakRole | None:
        """The realm role ``name`` (None when the realm has none of that name)."""
        try:
            body = await self._get(f"/roles/{_segment(name)}", "realm_role")
        except KeycloakNotFoundError:
            return None
        return _parse(_ROLE, body, "realm_role")

    async def client_uuid(self, client_id: str) -> str:
        """The internal id of the client whose ``clientId`` is ``client_id``."""
        known = self._client_ids.get(client_id)
        if known is not None:
            return known
        body = await self._get("/clients", "find_client", params={"clientId": client_id})
        for entry in _parse(_OBJECTS, body, "find_client"):
            internal = entry.get("id")
            if entry.get("clientId") == client_id and isinstance(internal, str) and internal:
                self._client_ids[client_id] = internal
                return internal
        raise KeycloakNotFoundError(
            f"the realm has no client {client_id[:100]!r}", context=self._context("find_client")
        )

    async def client_roles(self, client_id: str) -> list[ModelKeycloakRole]:
        """Every role of the client ``client_id``."""
        internal = await self.client_uuid(client_id)
        body = await self._get(f"/clients/{_segment(internal)}/roles", "client_roles")
        return _parse(_ROLES, body, "client_roles")

    async def client_role(self, client_id: str, name: str) -> ModelKeycloakRole | None:
        """The role ``name`` of client ``client_id`` (None when it has none of that name)."""
        internal = await self.client_uuid(client_id)
        path = f"/clients/{_segment(internal)}/roles/{_segment(name)}"
        try:
            body = await self._get(path, "client_role")
        except KeycloakNotFoundError:
            return None
        return _parse(_ROLE, body, "client_role")

    async def find_user_id(self, username: str) -> str | None:
        """The id of the user named exactly ``username`` (None when there is none)."""
        params = {"username": username, "exact": "true"}
        body = await self._get("/users", "find_user", params=params)
        for entry in _parse(_OBJECTS, body, "find_user"):
            user_id = entry.get("id")
            if entry.get("username") == username and isinstance(user_id, str):
                return user_id
        return None

    async def user_realm_roles(self, user_id: str) -> list[ModelKeycloakRole]:
        """The realm roles granted directly to the user."""
        body = await self._get(_mappings(user_id), "user_realm_roles")
        return _parse(_ROLES, body, "user_realm_roles")

    async def user_client_roles(self, user_id: str, client_id: str) -> list[ModelKeycloakRole]:
        """The roles of client ``client_id`` granted directly to the user."""
        internal = await self.client_uuid(client_id)
        body = await self._get(_mappings(user_id, internal), "user_client_roles")
        return _parse(_ROLES, body, "user_client_roles")

    # -- role mappings -----------------------------------------------------------------------

    async def assign_realm_roles(
        self, user_id: str, names: Sequence[str]
    ) -> list[ModelKeycloakRole]:
        """Grant the realm roles ``names`` to the user; returns them."""
        roles = await self._realm_roles_named(names, "assign_realm_roles")
        await self._change("POST", _mappings(user_id), roles, "assign_realm_roles")
        return roles

    async def remove_realm_roles(
        self, user_id: str, names: Sequence[str]
    ) -> list[ModelKeycloakRole]:
        """Take the realm roles ``names`` from the user; returns them."""
        roles = await self._realm_roles_named(names, "remove_realm_roles")
        await self._change("DELETE", _mappings(user_id), roles, "remove_realm_roles")
        return roles

    async def assign_client_roles(
        self, user_id: str, client_id: str, names: Sequence[str]
    ) -> list[ModelKeycloakRole]:
        """Grant the roles ``names`` of client ``client_id`` to the user; returns them."""
        roles = await self._client_roles_named(client_id, names, "assign_client_roles")
        internal = await self.client_uuid(client_id)
        await self._change("POST", _mappings(user_id, internal), roles, "assign_client_roles")
        return roles

    async def remove_client_roles(
        self, user_id: str, client_id: str, names: Sequence[str]
    ) -> list[ModelKeycloakRole]:
        """Take the roles ``names`` of client ``client_id`` from the user; returns them."""
        roles = await self._client_roles_named(client_id, names, "remove_client_roles")
        internal = await self.client_uuid(client_id)
        await self._change("DELETE", _mappings(user_id, internal), roles, "remove_client_roles")
        return roles

    # -- internals ---------------------------------------------------------------------------

    async def _realm_roles_named(
        self, names: Sequence[str], operation: str
    ) -> list[ModelKeycloakRole]:
        self._some(names, operation)
        roles: list[ModelKeycloakRole] = []
        for name in dict.fromkeys(names):
            role = await self.realm_role(name)
            if role is None:
                raise KeycloakNotFoundError(
                    f"the realm has no role {name[:100]!r}", context=self._context(operation)
                )
            roles.append(role)
        return roles

    async def _client_roles_named(
        self, client_id: str, names: Sequence[str], operation: str
    ) -> list[ModelKeycloakRole]:
        self._some(names, operation)
        roles: list[ModelKeycloakRole] = []
        for name in dict.fromkeys(names):
            role = await self.client_role(client_id, name)
            if role is None:
                raise KeycloakNotFoundError(
                    f"client {client_id[:100]!r} has no role {name[:100]!r}",
                    context=self._context(operation),
                )
            roles.append(role)
        return roles

    def _some(self, names: Sequence[str], operation: str) -> None:
        # An empty list would make Keycloak's DELETE remove every mapping of the user.
        if not names:
            raise RuntimeHostError(
                "no role named: a role mapping change needs at least one role",
                context=self._context(operation),
                retriable=False,
            )

    async def _change(
        self, method: str, path: str, roles: Sequence[ModelKeycloakRole], operation: str
    ) -> None:
        body: JsonValue = [{"id": role.id, "name": role.name} for role in roles]
        await self._call(method, path, operation, json_body=body)

    async def _get(
        self, path: str, operation: str, *, params: Mapping[str, str] | None = None
    ) -> bytes:
        return await self._call("GET", path, operation, params=params)

    async def _call(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: JsonValue = None,
    ) -> bytes:
        """One admin call; a 401 gets a new token and one more try."""
        context = self._context(operation)
        admin_url = self._settings.resolved_admin_url
        if admin_url is None:
            raise ProtocolConfigurationError(
                "no admin API: the issuer_url is not a Keycloak realm URL (.../realms/<realm>); "
                "set admin_url",
                field="admin_url",
                context=context,
            )
        for renewed in (False, True):
            token = await self._token(renewed)
            headers = {"authorization": token.authorization_header(), "accept": "application/json"}
            response, body = await self._send(
                method,
                f"{admin_url}{path}",
                context,
                params=params,
                json_body=json_body,
                headers=headers,
            )
            if response.status_code != 401 or renewed:
                break
        if response.status_code == 404:
            raise KeycloakNotFoundError(f"not found: {_detail(body)}", context=context)
        if response.status_code >= 400:
            raise error_for_status(
                response.status_code, response.headers, context, detail=_detail(body)
            )
        return body

    def _context(self, operation: str) -> ModelInfraErrorContext:
        context = self._contexts.get(operation)
        if context is None:
            context = ModelInfraErrorContext(
                transport_type=EnumInfraTransportType.HTTP,
                operation=f"keycloak_admin.{operation}",
                target_name=self._settings.target_name,
            )
            self._contexts[operation] = context
        return context


def _mappings(user_id: str, client_internal_id: str | None = None) -> str:
    base = f"/users/{_segment(user_id)}/role-mappings"
    return (
        f"{base}/realm"
        if client_internal_id is None
        else (f"{base}/clients/{_segment(client_internal_id)}")
    )


def _segment(value: str) -> str:
    """One path segment, percent-encoded (a name can never reach another path)."""
    return quote(value, safe="")


def _parse[T](adapter: TypeAdapter[T], body: bytes, operation: str) -> T:
    try:
        return adapter.validate_json(body)
    except ValidationError as e:
        raise InfraConnectionError(
            "the admin API's reply is not what Keycloak documents",
            context=ModelInfraErrorContext(
                transport_type=EnumInfraTransportType.HTTP, operation=f"keycloak_admin.{operation}"
            ),
        ) from e


def _detail(body: bytes) -> str | None:
    """Keycloak's error text (``error``, ``errorMessage``), bounded; None without one."""
    try:
        payload = _ERROR.validate_json(body)
    except ValidationError:
        return None
    for key in ("errorMessage", "error", "error_description"):
        text = payload.get(key)
        if isinstance(text, str) and text:
            return text[:200]
    return None

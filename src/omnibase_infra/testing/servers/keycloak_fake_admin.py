"""The fake Keycloak's admin REST API: realm and client roles and users' role mappings.

Follows Keycloak's documented Admin REST API (``/admin/realms/{realm}``) for the calls the
handler makes, with Keycloak's semantics:

- ``GET /roles`` and ``GET /roles/{name}``: ``RoleRepresentation`` objects (``id``, ``name``,
  ``description``, ``composite: false``, ``clientRole``, ``containerId``); an unknown name is
  404 ``{"error": "Could not find role"}``. Needs ``view-realm`` (or ``manage-realm``).
- ``GET /clients?clientId=X``: the clients with that ``clientId`` (a list, empty when none).
  Needs ``view-clients`` (or ``query-clients``).
- ``GET /clients/{id}/roles`` and ``/clients/{id}/roles/{name}``: the client's roles by the
  client's internal id; an unknown client is 404 ``Could not find client``. Needs
  ``view-clients``.
- ``GET /users?username=X&exact=true``: the users with that username. Needs ``view-users``.
- ``GET|POST|DELETE /users/{id}/role-mappings/realm`` and
  ``/users/{id}/role-mappings/clients/{client id}``: the user's direct roles; POST adds and
  DELETE removes the roles of the JSON body, each named by ``name`` and ``id`` (both must match
  a role, else 404 ``Role not found``), answering 204. An unknown user is 404
  ``User not found``. Reading needs ``view-users``, changing needs ``manage-users``.
- Every call needs ``Authorization: Bearer <token>``, a token this realm signed and not expired
  (else 401 ``HTTP 401 Unauthorized``); the permissions above are client roles of
  ``realm-management`` in the token's ``resource_access`` (else 403 ``HTTP 403 Forbidden``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import jwt
from pydantic import JsonValue, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["REALM_MANAGEMENT", "REALM_MANAGEMENT_ROLES", "FakeKeycloakAdmin"]

REALM_MANAGEMENT = "realm-management"
REALM_MANAGEMENT_ROLES = (
    "view-realm",
    "manage-realm",
    "view-clients",
    "query-clients",
    "view-users",
    "query-users",
    "manage-users",
)

type _Handler = Callable[[Request], Awaitable[Response]]

_ROLE_LIST: TypeAdapter[list[dict[str, JsonValue]]] = TypeAdapter(list[dict[str, JsonValue]])


@dataclass
class _Role:
    id: str
    name: str
    container_id: str
    client_role: bool

    def representation(self) -> dict[str, JsonValue]:
        return {
            "id": self.id,
            "name": self.name,
            "description": f"${{role_{self.name}}}",
            "composite": False,
            "clientRole": self.client_role,
            "containerId": self.container_id,
        }


@dataclass
class FakeKeycloakAdmin:
    """The realm's roles, clients, users and role mappings (in memory, per process)."""

    realm: str
    realm_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    realm_roles: dict[str, _Role] = field(default_factory=dict)
    clients: dict[str, str] = field(default_factory=dict)  # clientId -> internal id
    client_roles: dict[str, dict[str, _Role]] = field(default_factory=dict)  # by internal id
    users: dict[str, str] = field(default_factory=dict)  # id -> username
    mappings: dict[str, set[str]] = field(default_factory=dict)  # user id -> role ids

    def add_realm_role(self, name: str) -> None:
        """Define a realm role (no-op when it exists)."""
        if name not in self.realm_roles:
            self.realm_roles[name] = _Role(str(uuid.uuid4()), name, self.realm_id, False)

    def add_client(self, client_id: str, roles: list[str]) -> str:
        """Define a client and its roles; returns its internal id."""
        internal = self.clients.setdefault(client_id, str(uuid.uuid4()))
        defined = self.client_roles.setdefault(internal, {})
        for name in roles:
            if name not in defined:
                defined[name] = _Role(str(uuid.uuid4()), name, internal, True)
        return internal

    def add_user(self, username: str, user_id: str | None = None) -> str:
        """Define a user; returns its id."""
        identifier = user_id or str(uuid.uuid4())
        self.users[identifier] = username
        self.mappings.setdefault(identifier, set())
        return identifier

    def routes(
        self, realm_path_admin: str, verify: Callable[[str], dict[str, JsonValue]]
    ) -> list[Route]:
        """The admin API's routes under ``/admin/realms/<realm>``; ``verify`` decodes a bearer
        token (raising ``jwt.PyJWTError`` when it is not this realm's or expired)."""
        base = realm_path_admin

        def guarded(permissions: tuple[str, ...], handler: _Handler) -> _Handler:
            async def endpoint(request: Request) -> Response:
                header = request.headers.get("authorization", "")
                if not header.lower().startswith("bearer "):
                    return _error(401, "HTTP 401 Unauthorized")
                try:
                    claims = verify(header[7:])
                except jwt.PyJWTError:
                    return _error(401, "HTTP 401 Unauthorized")
                if not set(permissions) & _management_roles(claims):
                    return _error(403, "HTTP 403 Forbidden")
                return await handler(request)

            return endpoint

        view_realm = ("view-realm", "manage-realm")
        view_clients = ("view-clients", "query-clients", "manage-realm")
        view_users = ("view-users", "query-users", "manage-users")
        manage_users = ("manage-users",)
        return [
            Route(f"{base}/roles", guarded(view_realm, self._realm_roles)),
            Route(f"{base}/roles/{{name}}", guarded(view_realm, self._realm_role)),
            Route(f"{base}/clients", guarded(view_clients, self._find_clients)),
            Route(f"{base}/clients/{{client}}/roles", guarded(view_clients, self._client_roles)),
            Route(
                f"{base}/clients/{{client}}/roles/{{name}}",
                guarded(view_clients, self._client_role),
            ),
            Route(f"{base}/users", guarded(view_users, self._find_users)),
            Route(
                f"{base}/users/{{user}}/role-mappings/realm",
                self._mapping_endpoint(guarded, view_users, manage_users, client=False),
                methods=["GET", "POST", "DELETE"],
            ),
            Route(
                f"{base}/users/{{user}}/role-mappings/clients/{{client}}",
                self._mapping_endpoint(guarded, view_users, manage_users, client=True),
                methods=["GET", "POST", "DELETE"],
            ),
        ]

    # -- roles and clients -------------------------------------------------------------------

    async def _realm_roles(self, _: Request) -> Response:
        return JSONResponse([role.representation() for role in self.realm_roles.values()])

    async def _realm_role(self, request: Request) -> Response:
        role = self.realm_roles.get(request.path_params["name"])
        if role is None:
            return _error(404, "Could not find role")
        return JSONResponse(role.representation())

    async def _find_clients(self, request: Request) -> Response:
        wanted = request.query_params.get("clientId")
        return JSONResponse(
            [
                {"id": internal, "clientId": client_id, "enabled": True}
                for client_id, internal in self.clients.items()
                if wanted is None or client_id == wanted
            ]
        )

    async def _client_roles(self, request: Request) -> Response:
        roles = self.client_roles.get(request.path_params["client"])
        if roles is None:
            return _error(404, "Could not find client")
        return JSONResponse([role.representation() for role in roles.values()])

    async def _client_role(self, request: Request) -> Response:
        roles = self.client_roles.get(request.path_params["client"])
        if roles is None:
            return _error(404, "Could not find client")
        role = roles.get(request.path_params["name"])
        if role is None:
            return _error(404, "Could not find role")
        return JSONResponse(role.representation())

    async def _find_users(self, request: Request) -> Response:
        wanted = request.query_params.get("username")
        return JSONResponse(
            [
                {"id": user_id, "username": username, "enabled": True}
                for user_id, username in self.users.items()
                if wanted is None or username == wanted
            ]
        )

    # -- role mappings -----------------------------------------------------------------------

    def _mapping_endpoint(
        self,
        guarded: Callable[[tuple[str, ...], _Handler], _Handler],
        view: tuple[str, ...],
        manage: tuple[str, ...],
        *,
        client: bool,
    ) -> _Handler:
        async def mappings(request: Request) -> Response:
            user = request.path_params["user"]
            if user not in self.users:
                return _error(404, "User not found")
            defined = self._roles_of(request.path_params.get("client") if client else None)
            if defined is None:
                return _error(404, "Could not find client")
            granted = self.mappings[user]
            if request.method == "GET":
                return JSONResponse(
                    [role.representation() for role in defined.values() if role.id in granted]
                )
            try:
                body = _ROLE_LIST.validate_json(await request.body())
            except ValidationError:
                return _error(400, "Expected a JSON list of roles")
            ids: list[str] = []
            for entry in body:
                name = entry.get("name")
                role = defined.get(name) if isinstance(name, str) else None
                if role is None or role.id != entry.get("id"):
                    return _error(404, "Role not found")
                ids.append(role.id)
            if request.method == "POST":
                granted.update(ids)
            else:
                granted.difference_update(ids)
            return Response(status_code=204)

        read = guarded(view, mappings)
        write = guarded(manage, mappings)

        async def endpoint(request: Request) -> Response:
            return await (read if request.method == "GET" else write)(request)

        return endpoint

    def _roles_of(self, client: str | None) -> dict[str, _Role] | None:
        if client is None:
            return self.realm_roles
        return self.client_roles.get(client)


def _management_roles(claims: dict[str, JsonValue]) -> set[str]:
    access = claims.get("resource_access")
    entry = access.get(REALM_MANAGEMENT) if isinstance(access, dict) else None
    roles = entry.get("roles") if isinstance(entry, dict) else None
    return {role for role in roles if isinstance(role, str)} if isinstance(roles, list) else set()


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)

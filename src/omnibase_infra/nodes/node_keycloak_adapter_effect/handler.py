"""``HandlerKeycloakAdapter``: one Keycloak action per command, through the runtime's
``HandlerKeycloak``.

Four commands, one route each: validate a token (answered by the validated or the rejected
event: a bad token is an answer, not a failure), issue a client-credentials token for the
configured client, look up roles (the realm's, a client's, a user's), and assign or remove a
user's roles through the admin API. The contract (``handler_config``) declares the roles
mapping commands may change, the clients commands may name and the scopes a token may ask for;
anything else is answered with ``ModelKeycloakActionFailed`` before any request, as is a role,
client or user that does not exist. An infrastructure failure (unreachable, refused
credentials, an open breaker) is raised for the contract's retry, breaker and dead-letter
policy (``nodes.adapters.failures``).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.errors import InfraAuthenticationError
from omnibase_infra.handlers.oidc.handler_keycloak import HandlerKeycloak
from omnibase_infra.handlers.oidc.model_keycloak_role import ModelKeycloakRole
from omnibase_infra.nodes.adapters.failures import (
    AdapterRequestError,
    failure_reason,
    is_request_failure,
)
from omnibase_infra.nodes.node_keycloak_adapter_effect.enum_keycloak_role_change import (
    EnumKeycloakRoleChange,
)
from omnibase_infra.nodes.node_keycloak_adapter_effect.enum_keycloak_role_lookup import (
    EnumKeycloakRoleLookup,
)
from omnibase_infra.nodes.node_keycloak_adapter_effect.model_keycloak_action_failed import (
    ModelKeycloakActionFailed,
)
from omnibase_infra.nodes.node_keycloak_adapter_effect.model_keycloak_adapter_config import (
    ModelKeycloakAdapterConfig,
)
from omnibase_infra.nodes.node_keycloak_adapter_effect.model_keycloak_client_token_issued import (
    ModelKeycloakClientTokenIssued,
)
from omnibase_infra.nodes.node_keycloak_adapter_effect.model_keycloak_issue_client_token import (
    ModelKeycloakIssueClientToken,
)
from omnibase_infra.nodes.node_keycloak_adapter_effect.model_keycloak_role_lookup import (
    ModelKeycloakRoleLookup,
)
from omnibase_infra.nodes.node_keycloak_adapter_effect.model_keycloak_role_mapping import (
    ModelKeycloakRoleMapping,
)
from omnibase_infra.nodes.node_keycloak_adapter_effect.model_keycloak_role_mapping_changed import (
    ModelKeycloakRoleMappingChanged,
)
from omnibase_infra.nodes.node_keycloak_adapter_effect.model_keycloak_roles_found import (
    ModelKeycloakRolesFound,
)
from omnibase_infra.nodes.node_keycloak_adapter_effect.model_keycloak_token_rejected import (
    ModelKeycloakTokenRejected,
)
from omnibase_infra.nodes.node_keycloak_adapter_effect.model_keycloak_token_validated import (
    ModelKeycloakTokenValidated,
)
from omnibase_infra.nodes.node_keycloak_adapter_effect.model_keycloak_validate_token import (
    ModelKeycloakValidateToken,
)

__all__ = ["HandlerKeycloakAdapter"]

_L = EnumKeycloakRoleLookup
_COMMANDS: dict[type[BaseModel], str] = {
    ModelKeycloakValidateToken: "validate_token",
    ModelKeycloakIssueClientToken: "client_token",
    ModelKeycloakRoleLookup: "role_lookup",
    ModelKeycloakRoleMapping: "role_mapping",
}


class HandlerKeycloakAdapter:
    """The adapter's message handler for its four routes (see module docstring)."""

    config_model: ClassVar[type[BaseModel]] = ModelKeycloakAdapterConfig

    def __init__(self, container: ModelONEXContainer, config: ModelKeycloakAdapterConfig) -> None:
        self._keycloak = container.get_service(HandlerKeycloak)
        self._config = config

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        """Run the command; the outcome is the node's result event."""
        command = context.payload
        assert isinstance(command, BaseModel)  # each route's input model
        try:
            result = await self._act(command)
        except Exception as error:
            if not is_request_failure(error):
                raise  # the infrastructure's: retried, then dead-lettered
            return ModelNodeOutput(
                result=ModelKeycloakActionFailed(
                    command=_COMMANDS.get(type(command), type(command).__name__),
                    error_type=type(error).__name__,
                    reason=failure_reason(error),
                )
            )
        return ModelNodeOutput(result=result)

    async def _act(self, command: BaseModel) -> BaseModel:
        if isinstance(command, ModelKeycloakValidateToken):
            return await self._validate(command)
        if isinstance(command, ModelKeycloakIssueClientToken):
            return await self._issue(command)
        if isinstance(command, ModelKeycloakRoleLookup):
            return await self._lookup(command)
        if isinstance(command, ModelKeycloakRoleMapping):
            return await self._map(command)
        raise AdapterRequestError(f"no Keycloak command is a {type(command).__name__}")

    async def _validate(self, command: ModelKeycloakValidateToken) -> BaseModel:
        try:
            claims = await self._keycloak.validate_token(command.token)
        except InfraAuthenticationError as rejection:  # the token's fault: an answer
            return ModelKeycloakTokenRejected(reason=failure_reason(rejection))
        return ModelKeycloakTokenValidated(
            subject=claims.subject,
            issuer=claims.issuer,
            audience=tuple(claims.audience),
            expires_at=claims.expires_at,
            authorized_party=claims.authorized_party,
            scopes=tuple(claims.scopes),
            realm_roles=tuple(claims.realm_roles),
            client_roles={name: tuple(roles) for name, roles in claims.client_roles.items()},
        )

    async def _issue(self, command: ModelKeycloakIssueClientToken) -> BaseModel:
        if command.scope is not None:
            refused = sorted(set(command.scope.split()) - set(self._config.scopes))
            if refused:
                raise AdapterRequestError(f"scope not allowed here: {' '.join(refused)[:200]}")
        token = await self._keycloak.client_credentials_token(scope=command.scope)
        return ModelKeycloakClientTokenIssued(
            access_token=token.access_token.get_secret_value(),
            token_type=token.token_type,
            expires_at=token.expires_at,
            scope=token.scope,
        )

    async def _lookup(self, command: ModelKeycloakRoleLookup) -> BaseModel:
        admin, lookup, user_id = self._keycloak.admin, command.lookup, command.user_id
        client_id = self._client(command.client_id)
        roles: list[ModelKeycloakRole]
        if lookup is _L.REALM_ROLES:
            roles = await admin.realm_roles()
        elif lookup is _L.CLIENT_ROLES:
            assert client_id is not None  # the command's validator, as below
            roles = await admin.client_roles(client_id)
        elif lookup is _L.USER_REALM_ROLES:
            assert user_id is not None
            roles = await admin.user_realm_roles(user_id)
        else:
            assert user_id is not None
            assert client_id is not None
            roles = await admin.user_client_roles(user_id, client_id)
        if command.names:
            roles = [role for role in roles if role.name in command.names]
        return ModelKeycloakRolesFound(
            lookup=lookup, client_id=client_id, user_id=user_id, roles=tuple(roles)
        )

    async def _map(self, command: ModelKeycloakRoleMapping) -> BaseModel:
        client_id = self._client(command.client_id)
        outside = [
            role for role in command.roles if not role.startswith(self._config.role_prefixes)
        ]
        if outside:
            raise AdapterRequestError("a role is outside the prefixes this node may change")
        admin, user_id, names = self._keycloak.admin, command.user_id, list(command.roles)
        assign = command.change is EnumKeycloakRoleChange.ASSIGN
        if client_id is None:
            changed = await (
                admin.assign_realm_roles(user_id, names)
                if assign
                else admin.remove_realm_roles(user_id, names)
            )
        else:
            changed = await (
                admin.assign_client_roles(user_id, client_id, names)
                if assign
                else admin.remove_client_roles(user_id, client_id, names)
            )
        return ModelKeycloakRoleMappingChanged(
            change=command.change,
            user_id=user_id,
            client_id=client_id,
            roles=tuple(role.name for role in changed),
        )

    def _client(self, client_id: str | None) -> str | None:
        if client_id is not None and client_id not in self._config.client_ids:
            raise AdapterRequestError("client is not one this node may name")
        return client_id

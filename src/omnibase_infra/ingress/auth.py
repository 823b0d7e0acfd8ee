"""Bearer tokens on the ingress: validated by ``HandlerKeycloak``, roles mapped to topics."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence

from omnibase_infra.errors import InfraAuthenticationError
from omnibase_infra.handlers.oidc.handler_keycloak import HandlerKeycloak
from omnibase_infra.handlers.oidc.model_token_claims import ModelTokenClaims

__all__ = ["IngressAuthenticator", "bearer_token"]

_BEARER = "bearer "


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (None when absent or another
    scheme)."""
    if authorization is None or authorization[: len(_BEARER)].lower() != _BEARER:
        return None
    token = authorization[len(_BEARER) :].strip()
    return token or None


class IngressAuthenticator:
    """Validates a bearer token and says which topics its roles may publish to."""

    def __init__(
        self,
        handler: HandlerKeycloak,
        roles: Mapping[str, Sequence[str]],
        audience: Sequence[str] = (),
    ) -> None:
        self._handler = handler
        self._audience = tuple(audience)
        self._patterns = {
            role: re.compile("|".join(fnmatch.translate(p) for p in patterns) or r"(?!)")
            for role, patterns in roles.items()
        }

    @property
    def handler(self) -> HandlerKeycloak:
        """The token validator (started and closed by the ingress's owner)."""
        return self._handler

    async def authenticate(self, authorization: str | None) -> ModelTokenClaims:
        """The verified claims of the request's bearer token; raises
        ``InfraAuthenticationError`` (never containing the token) when missing or invalid."""
        token = bearer_token(authorization)
        if token is None:
            raise InfraAuthenticationError(
                "a bearer JWT is required (Authorization: Bearer ...)", reason="missing"
            )
        return await self._handler.validate_token(token)

    def roles_of(self, claims: ModelTokenClaims) -> set[str]:
        """Realm roles plus client roles of each configured audience."""
        roles = set(claims.realm_roles)
        for client in self._audience:
            roles.update(claims.client_roles.get(client, ()))
        return roles

    def allows(self, claims: ModelTokenClaims, topic: str) -> bool:
        """Whether a role of the token has a pattern matching ``topic``."""
        return any(
            self._patterns[role].fullmatch(topic) is not None
            for role in self.roles_of(claims)
            if role in self._patterns
        )

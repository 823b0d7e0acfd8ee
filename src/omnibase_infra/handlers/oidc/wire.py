"""OIDC and OAuth 2.0 wire shapes: token endpoint errors and verified claims."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from pydantic import JsonValue, TypeAdapter, ValidationError

from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraConnectionError,
    ModelInfraErrorContext,
    ProtocolConfigurationError,
    RuntimeHostError,
)
from omnibase_infra.handlers.httpx_support import error_for_status
from omnibase_infra.handlers.oidc.model_token_claims import ModelTokenClaims

__all__ = ["claims_model", "json_object", "token_endpoint_error"]

_JSON_OBJECT: TypeAdapter[dict[str, JsonValue]] = TypeAdapter(dict[str, JsonValue])
_AUTH_ERRORS = frozenset(
    {"invalid_client", "invalid_grant", "unauthorized_client", "access_denied"}
)
_CONFIG_ERRORS = frozenset({"unsupported_grant_type", "invalid_scope", "invalid_request"})


def token_endpoint_error(
    response: httpx.Response, body: bytes, context: ModelInfraErrorContext
) -> RuntimeHostError:
    """The error for a failed token request, by its OAuth error code (RFC 6749 5.2)."""
    try:
        payload = _JSON_OBJECT.validate_json(body)
    except ValidationError:
        payload = {}
    code = payload.get("error")
    description = payload.get("error_description")
    detail = f"{code}" + (f" ({description})" if isinstance(description, str) else "")
    if code in _AUTH_ERRORS:
        return InfraAuthenticationError(
            f"client_credentials grant refused: {detail}", context=context
        )
    if code in _CONFIG_ERRORS:
        return ProtocolConfigurationError(
            f"client_credentials grant refused: {detail}", context=context
        )
    return error_for_status(
        response.status_code, response.headers, context, detail=detail if code else None
    )


def json_object(body: bytes, context: ModelInfraErrorContext) -> dict[str, JsonValue]:
    try:
        return _JSON_OBJECT.validate_json(body)
    except ValidationError as e:
        raise InfraConnectionError(
            "the provider replied with a non-JSON body", context=context
        ) from e


def claims_model(
    claims: dict[str, JsonValue], algorithm: str, key_id: str | None
) -> ModelTokenClaims:
    """Lift the standard and Keycloak claims out of a verified payload."""
    audience = claims.get("aud")
    scope = claims.get("scope")
    realm_access = claims.get("realm_access")
    realm_roles = realm_access.get("roles") if isinstance(realm_access, dict) else None
    resource_access = claims.get("resource_access")
    client_roles: dict[str, list[str]] = {}
    if isinstance(resource_access, dict):
        for client, access in resource_access.items():
            roles = access.get("roles") if isinstance(access, dict) else None
            if isinstance(roles, list):
                client_roles[client] = [role for role in roles if isinstance(role, str)]
    # model_construct: every field below is built from the verified payload with its type
    # checked here, and validating the whole claims tree again would double the cost.
    return ModelTokenClaims.model_construct(
        subject=str(claims.get("sub", "")),
        issuer=str(claims.get("iss", "")),
        audience=(
            [audience]
            if isinstance(audience, str)
            else [a for a in audience if isinstance(a, str)]
            if isinstance(audience, list)
            else []
        ),
        expires_at=_timestamp(claims.get("exp")),
        issued_at=_timestamp(claims.get("iat")),
        authorized_party=_text(claims.get("azp")),
        scopes=scope.split() if isinstance(scope, str) else [],
        realm_roles=[r for r in realm_roles if isinstance(r, str)]
        if isinstance(realm_roles, list)
        else [],
        client_roles=client_roles,
        key_id=key_id,
        algorithm=algorithm,
        claims=claims,
    )


def _timestamp(value: JsonValue) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return None


def _text(value: JsonValue) -> str | None:
    return value if isinstance(value, str) else None

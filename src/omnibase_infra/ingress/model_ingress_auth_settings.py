"""Who may publish through the ingress: an OIDC provider's tokens and roles mapped to topics."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from omnibase_infra.handlers.oidc.model_keycloak_settings import ModelKeycloakSettings

__all__ = ["ModelIngressAuthSettings"]


class ModelIngressAuthSettings(BaseModel):
    """Bearer tokens validated by ``HandlerKeycloak``; ``roles`` maps a role to topic patterns.

    A token's roles are its realm roles plus its client roles for each configured audience.
    Patterns are shell-style (``onex.cmd.orders.*``); a topic is allowed when any role of the
    token has a pattern matching it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    oidc: ModelKeycloakSettings = Field(
        description="the provider (issuer_url, audience, algorithms...); validation only"
    )
    roles: dict[str, list[str]] = Field(
        min_length=1,
        description="role -> topic patterns it may publish to and tail (fnmatch style)",
    )

    @field_validator("oidc")
    @classmethod
    def _no_client_secret(cls, oidc: ModelKeycloakSettings) -> ModelKeycloakSettings:
        # The ingress only validates tokens: a secret here would be a literal in the file.
        if oidc.client_secret is not None:
            raise ValueError("the ingress validates tokens only: leave oidc.client_secret out")
        return oidc

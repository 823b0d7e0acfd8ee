"""The parts of an OpenID Provider's discovery document this package uses."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelOidcDiscovery"]


class ModelOidcDiscovery(BaseModel):
    """OpenID Connect Discovery 1.0 provider metadata (other fields are ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    issuer: str = Field(min_length=1)
    jwks_uri: str = Field(min_length=1)
    token_endpoint: str | None = None
    authorization_endpoint: str | None = None
    grant_types_supported: list[str] = Field(
        default_factory=lambda: ["authorization_code", "implicit"]
    )
    id_token_signing_alg_values_supported: list[str] = Field(default_factory=list)

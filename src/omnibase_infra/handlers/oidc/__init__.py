"""OIDC (Keycloak): HandlerKeycloak (client-credentials tokens, token validation), its JWKS cache,
wire helpers, settings and models.
"""

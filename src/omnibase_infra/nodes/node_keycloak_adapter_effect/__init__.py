"""node_keycloak_adapter_effect: token validation, client-credentials tokens, realm and client
role lookups and users' role mappings on Keycloak, by command.

The runtime's ``HandlerKeycloak`` (the ``keycloak:`` section of the runtime config) holds the
client, its service-account token and the provider's keys; the contract declares which roles
mapping commands may change, which clients they may name and which scopes a token may ask for.
See ``handler``.
"""

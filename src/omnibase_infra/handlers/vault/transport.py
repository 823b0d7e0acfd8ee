"""``VaultTransport``: one request to Vault's HTTP API and its answer, errors translated.

The HTTP half of ``HandlerVault``: the ``httpx.AsyncClient`` (opened at start, closed at
stop), the bounded body read, and Vault's statuses turned into the package's errors (a 404 on a
KV path with no error text is "no such secret"; a rejected login is an authentication error;
the rest as in ``httpx_support``). It knows nothing of tokens or secrets: the handler passes
the token header for each request.

The error context of each operation is made once and kept: ``ModelInfraErrorContext``
sanitises its target and operation on construction (about 16 pattern substitutions each), and
every request needs one in case it fails.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from pydantic import JsonValue

from omnibase_infra.enums import EnumInfraTransportType
from omnibase_infra.errors import (
    InfraAuthenticationError,
    InfraConnectionError,
    ModelInfraErrorContext,
    ProtocolConfigurationError,
)
from omnibase_infra.handlers.httpx_support import (
    error_for_status,
    new_async_client,
    read_bounded,
    translate_transport_error,
)
from omnibase_infra.handlers.vault.model_vault_settings import ModelVaultSettings
from omnibase_infra.handlers.vault.wire import json_object, vault_errors

__all__ = ["VaultTransport"]


class VaultTransport:
    """Requests to one Vault/OpenBao server (see module docstring)."""

    def __init__(
        self, settings: ModelVaultSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._settings = settings
        self._transport = transport
        # Made once: every call's error context names it (parsing the URL costs ~20 µs).
        self._target_name = settings.target_name
        self._contexts: dict[str, ModelInfraErrorContext] = {}
        self._client: httpx.AsyncClient | None = None

    def open(self) -> None:
        """Create the HTTP client (idempotent)."""
        if self._client is not None:
            return
        settings = self._settings
        headers = {"X-Vault-Namespace": settings.namespace} if settings.namespace else {}
        self._client = new_async_client(
            base_url=settings.url,
            timeout_seconds=settings.timeout_seconds,
            connect_timeout_seconds=settings.connect_timeout_seconds,
            tls_verify=settings.tls_verify,
            ca_cert_path=settings.ca_cert_path,
            headers=headers,
            transport=self._transport,
        )

    async def close(self) -> None:
        """Close the HTTP client; safe to call twice."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def context(self, operation: str) -> ModelInfraErrorContext:
        """The (shared, immutable) error context of ``operation`` against this server."""
        context = self._contexts.get(operation)
        if context is None:
            context = ModelInfraErrorContext(
                transport_type=EnumInfraTransportType.VAULT,
                operation=operation,
                target_name=self._target_name,
            )
            self._contexts[operation] = context
        return context

    def reply(self, response: httpx.Response, operation: str) -> dict[str, JsonValue]:
        """The JSON object Vault answered with (a protocol error when it is not one)."""
        return json_object(response, self.context(operation))

    async def send(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        json_body: JsonValue = None,
        not_found_ok: bool = False,
        rejected_is_auth: bool = False,
        raise_for_status: bool = True,
    ) -> httpx.Response:
        """Send one request and return the response with its body read (bounded).

        Raises the translated error for transport failures and, unless told otherwise, for
        error statuses: 404 passes through when ``not_found_ok`` and the server reported no
        error text (KV's "no such secret"), and a 400 becomes an authentication error when
        ``rejected_is_auth`` (a rejected login).
        """
        client = self._client
        context = self.context(operation)
        if client is None:
            raise InfraConnectionError("handler is not started", context=context)
        request = client.build_request(method, url, params=params, json=json_body, headers=headers)
        try:
            streamed = await client.send(request, stream=True)
        except httpx.HTTPError as e:
            raise translate_transport_error(e, context) from e
        body = await read_bounded(streamed, self._settings.max_response_bytes, context)
        response = httpx.Response(
            streamed.status_code, headers=streamed.headers, content=body, request=request
        )
        if response.status_code < 400 or not raise_for_status:
            return response
        detail = vault_errors(response)
        if response.status_code == 404 and not_found_ok and not detail:
            return response
        if response.status_code == 404:
            raise ProtocolConfigurationError(
                f"Vault has no such route (is the mount right?): {detail}", context=context
            )
        if response.status_code == 400 and rejected_is_auth:
            raise InfraAuthenticationError(f"login rejected: {detail}", context=context)
        raise error_for_status(response.status_code, response.headers, context, detail=detail)

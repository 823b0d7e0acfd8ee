"""Call ``$RTEST_API_URL/items/<key>`` with the service account's bearer token."""

import os

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.handlers.http.handler_http import HandlerHttp
from omnibase_infra.handlers.oidc.handler_keycloak import HandlerKeycloak
from runtime_testnodes.models import ModelRtItem, ModelRtSlowWork


class HandlerRtApiCall:
    """One authenticated GET per command (no refresh of its own: the runtime does that)."""

    def __init__(self, container: ModelONEXContainer) -> None:
        self._oidc = container.get_service(HandlerKeycloak)
        self._http = container.get_service(HandlerHttp)
        self._url = os.environ["RTEST_API_URL"]

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        """GET the item as the service account; its body is the result's value."""
        work = context.payload
        assert isinstance(work, ModelRtSlowWork)
        token = await self._oidc.client_credentials_token()
        bearer = token.access_token.get_secret_value()
        response = await self._http.request(
            "GET", f"{self._url}/items/{work.key}", headers={"authorization": f"Bearer {bearer}"}
        )
        return ModelNodeOutput(result=ModelRtItem(key=work.key, value=response.text, source="api"))

"""Read ``secret/rtest/app`` through the runtime's HandlerVault; list what was read."""

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.handlers.vault.handler_vault import HandlerVault
from runtime_testnodes.files import append_lines
from runtime_testnodes.models import ModelRtSlowWork

VAULT_READS_FILE = "vault_reads.txt"


class HandlerRtVaultRead:
    """One KV read per command (no refresh of its own: the runtime's executor does that)."""

    def __init__(self, container: ModelONEXContainer) -> None:
        self._vault = container.get_service(HandlerVault)

    async def handle(self, context: DispatchContext) -> None:
        """Read the secret, then record the work id and the value read."""
        work = context.payload
        assert isinstance(work, ModelRtSlowWork)
        secret = await self._vault.kv_read("rtest/app")
        value = "" if secret is None else str(secret.data.get("value"))
        await append_lines(VAULT_READS_FILE, [f"{work.work_id}:{value}"])

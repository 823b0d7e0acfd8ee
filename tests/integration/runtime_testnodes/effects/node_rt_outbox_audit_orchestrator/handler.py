"""List each announced order (its key and envelope id) in outbox_seen.txt."""

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from runtime_testnodes.files import append_lines
from runtime_testnodes.models import ModelRtItem

OUTBOX_SEEN_FILE = "outbox_seen.txt"


class HandlerRtOutboxAudit:
    """One line per order-placed event received."""

    def __init__(self, container: ModelONEXContainer) -> None:
        self._container = container

    async def handle(self, context: DispatchContext) -> None:
        """Record the order's key and the event's envelope id."""
        item = context.payload
        assert isinstance(item, ModelRtItem)
        await append_lines(OUTBOX_SEEN_FILE, [f"{item.key} {context.envelope.envelope_id}"])

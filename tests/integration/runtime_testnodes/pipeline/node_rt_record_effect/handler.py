"""Record-job intent -> the ``ProtocolRtSink`` registered in the container."""

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from runtime_testnodes.models import ModelRtRecordJob
from runtime_testnodes.protocol_rt_sink import ProtocolRtSink


class HandlerRtRecord:
    """Resolves its sink by Protocol once, then hands it every intent."""

    def __init__(self, container: ModelONEXContainer) -> None:
        self._sink = container.get_service(ProtocolRtSink)  # type: ignore[type-abstract]

    async def handle(self, context: DispatchContext) -> None:
        """Record one job with the ids of its envelope."""
        job = context.payload
        assert isinstance(job, ModelRtRecordJob)
        await self._sink.record(
            job,
            correlation_id=context.correlation_id,
            envelope_id=context.envelope.envelope_id,
            parent_envelope_id=context.envelope.parent_envelope_id,
        )

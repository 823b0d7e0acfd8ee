"""Job-started event -> record-job intent carrying the key's running count."""

from collections import Counter

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.dispatch.model_outgoing_message import ModelOutgoingMessage
from runtime_testnodes.models import ModelRtJobStarted, ModelRtRecordJob
from runtime_testnodes.topics import TOPIC_RECORD_JOB


class HandlerRtTally:
    """Counts jobs per key (its state) and asks for each to be recorded."""

    def __init__(self, container: ModelONEXContainer) -> None:
        self._counts: Counter[str] = Counter()

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        """One record-job intent per event."""
        event = context.payload
        assert isinstance(event, ModelRtJobStarted)
        self._counts[event.key] += 1
        intent = ModelRtRecordJob(
            job_id=event.job_id, key=event.key, seq=event.seq, count=self._counts[event.key]
        )
        message = ModelOutgoingMessage(topic=TOPIC_RECORD_JOB, payload=intent, key=event.key)
        return ModelNodeOutput(intents=(message,))

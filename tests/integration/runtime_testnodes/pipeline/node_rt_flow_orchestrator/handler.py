"""Start-job command -> job-started event, keyed like the command."""

from omnibase_infra._core import ModelONEXContainer
from omnibase_infra.dispatch.context import DispatchContext
from omnibase_infra.dispatch.model_node_output import ModelNodeOutput
from omnibase_infra.dispatch.model_outgoing_message import ModelOutgoingMessage
from runtime_testnodes.models import ModelRtJobStarted, ModelRtStartJob
from runtime_testnodes.topics import TOPIC_JOB_STARTED


class HandlerRtStartJob:
    """Announces each started job."""

    def __init__(self, container: ModelONEXContainer) -> None:
        self._container = container

    async def handle(self, context: DispatchContext) -> ModelNodeOutput:
        """One job-started event per command."""
        command = context.payload
        assert isinstance(command, ModelRtStartJob)
        event = ModelRtJobStarted(job_id=command.job_id, key=command.key, seq=command.seq)
        message = ModelOutgoingMessage(topic=TOPIC_JOB_STARTED, payload=event, key=command.key)
        return ModelNodeOutput(events=(message,))

"""Payloads of the test nodes (one model per module)."""

from runtime_testnodes.models.model_rt_item import ModelRtItem
from runtime_testnodes.models.model_rt_job_started import ModelRtJobStarted
from runtime_testnodes.models.model_rt_record_job import ModelRtRecordJob
from runtime_testnodes.models.model_rt_slow_work import ModelRtSlowWork
from runtime_testnodes.models.model_rt_square import ModelRtSquare
from runtime_testnodes.models.model_rt_start_job import ModelRtStartJob
from runtime_testnodes.models.model_rt_transfer import ModelRtTransfer

__all__ = [
    "ModelRtItem",
    "ModelRtJobStarted",
    "ModelRtRecordJob",
    "ModelRtSlowWork",
    "ModelRtSquare",
    "ModelRtStartJob",
    "ModelRtTransfer",
]

"""The topics of the test nodes (producer ``rtest``)."""

TOPIC_START_JOB = "onex.cmd.rtest.start-job.v1"
TOPIC_JOB_STARTED = "onex.evt.rtest.job-started.v1"
TOPIC_RECORD_JOB = "onex.intent.rtest.record-job.v1"
TOPIC_SLOW_WORK = "onex.cmd.rtest.slow-work.v1"
TOPIC_RUNTIME_TICK = "onex.evt.platform.runtime-tick.v1"

-- DLQ replays (onex-infra dlq replay): one row per dead letter re-published to its original
-- topic, so operators can see what was replayed, when and by whom, and a record is not
-- replayed twice by accident.
CREATE TABLE onex_dlq_replays (
    replay_id uuid PRIMARY KEY,
    dlq_record_id uuid NOT NULL,
    dlq_topic text NOT NULL,
    dlq_partition integer NOT NULL CHECK (dlq_partition >= 0),
    dlq_offset bigint NOT NULL CHECK (dlq_offset >= 0),
    original_topic text NOT NULL,
    consumer_group text NOT NULL,
    error_type text NOT NULL,
    correlation_id uuid,
    replayed_at timestamptz NOT NULL DEFAULT now(),
    replayed_by text NOT NULL
);

CREATE INDEX onex_dlq_replays_record ON onex_dlq_replays (dlq_record_id);
CREATE INDEX onex_dlq_replays_correlation ON onex_dlq_replays (correlation_id);

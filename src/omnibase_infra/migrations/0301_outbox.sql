-- Transactional outbox (omnibase_infra.resilience.outbox): an outgoing message is inserted in
-- the same transaction as the state change that causes it; relays publish unsent rows in id
-- order (SELECT ... FOR UPDATE SKIP LOCKED, so several relays share the work) and stamp
-- sent_at in the same transaction. A relay killed mid-batch commits nothing: its rows stay
-- unsent and another relay publishes them (at least once).
CREATE TABLE onex_outbox (
    id bigserial PRIMARY KEY,
    topic text NOT NULL,
    key bytea,
    value bytea NOT NULL,
    headers jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    last_error text
);

-- Relays scan only the unsent rows.
CREATE INDEX onex_outbox_unsent ON onex_outbox (id) WHERE sent_at IS NULL;
-- Retention deletes sent rows by age.
CREATE INDEX onex_outbox_sent_at ON onex_outbox (sent_at) WHERE sent_at IS NOT NULL;

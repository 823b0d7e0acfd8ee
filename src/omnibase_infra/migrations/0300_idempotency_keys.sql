-- Idempotency of effects (omnibase_infra.resilience.idempotency): one row per (effect, key).
-- A delivery claims its key with INSERT ... ON CONFLICT before the side effect; exactly one
-- concurrent claim wins. The winner records the result (status completed) or, on failure,
-- deletes its claim so a redelivery may try again. A claim whose lease ran out (its worker
-- died) may be taken over; a key is forgotten after expires_at.
CREATE TABLE onex_idempotency_keys (
    scope text NOT NULL,
    key text NOT NULL,
    status text NOT NULL CHECK (status IN ('in_progress', 'completed')),
    owner uuid NOT NULL,
    result jsonb,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz NOT NULL,
    completed_at timestamptz,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);

-- purge_expired deletes by expiry.
CREATE INDEX onex_idempotency_keys_expiry ON onex_idempotency_keys (expires_at);

-- Node registration (registration.storage): the current registration of every live node, and
-- the history of every state transition. A registration leaves onex_registrations when it
-- expires, is deregistered or is rejected; its history stays.
CREATE TABLE onex_registrations (
    node_id uuid PRIMARY KEY,
    node_name text NOT NULL,
    node_type text NOT NULL,
    node_version text NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'accepted', 'active', 'stale')),
    capabilities jsonb NOT NULL DEFAULT '[]'::jsonb,
    endpoints jsonb NOT NULL DEFAULT '{}'::jsonb,
    health_endpoint text,
    acked boolean NOT NULL DEFAULT false,
    registered_at timestamptz NOT NULL,
    last_heartbeat_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version integer NOT NULL CHECK (version > 0),
    storage_status text NOT NULL DEFAULT 'ok',
    discovery_status text NOT NULL DEFAULT 'unknown',
    last_error text
);

-- Liveness scans look for live registrations whose last heartbeat is older than a deadline.
CREATE INDEX onex_registrations_liveness ON onex_registrations (state, last_heartbeat_at);

CREATE TABLE onex_registration_history (
    id bigserial PRIMARY KEY,
    node_id uuid NOT NULL,
    -- The causing message's envelope id and the transition: a redelivered message produces
    -- the same transition_id, so a retried write never records a transition twice.
    transition_id text NOT NULL,
    transition text NOT NULL,
    from_state text NOT NULL,
    to_state text NOT NULL,
    node_name text NOT NULL,
    correlation_id uuid,
    at timestamptz NOT NULL,
    UNIQUE (node_id, transition_id)
);

CREATE INDEX onex_registration_history_node ON onex_registration_history (node_id, at);

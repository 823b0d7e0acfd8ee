-- GET /registry pages through registrations by (node_name, node_id) with a keyset cursor: each
-- page is an index range scan, whatever the table's size, instead of a sort of every row.
CREATE INDEX IF NOT EXISTS onex_registrations_by_name ON onex_registrations (node_name, node_id);

-- The web console's calls (issue 15): what happened during each call, step by step, and keyset
-- paging of the call log.

-- One row per step Switchboard took or was told about during a call: the first voice webhook and
-- its plan, each dial attempt and its outcome, the caller's answer to the menu, the voicemail, each
-- status report, an outbound call placed, an AI hand-off. Written in the same transaction (or
-- group-commit batch) as the change it describes. `detail` is JSON whose shape depends on `kind`
-- (see src/calls/steps.rs). No foreign key to `calls`: a step written in a batch whose new call
-- lost a race to another writer must not fail the whole batch.
CREATE TABLE call_steps (
    id          TEXT NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id     TEXT NOT NULL,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL,
    PRIMARY KEY (id, tenant_id)
);
CREATE INDEX call_steps_by_call ON call_steps (tenant_id, call_id, at);

-- One index on calls by tenant and time serves the analytics, the usage sums and the call log's
-- keyset pages (newest first by (start_time, id): with `id` in the index a page after a cursor is
-- one index range read backwards, whatever the number of calls sharing a millisecond). The columns
-- after `id` make it cover the analytics counts and the usage sums over a range
-- (`analytics::store::call_usage`: minutes by direction, forwarded legs), which otherwise read every
-- call row of the range: on 100,000 calls the console's 30-day estimate went from about 160 ms to
-- under 20 ms on SQLite. It replaces 0006's analytics index rather than joining it, so every call
-- written by a webhook still updates one time index, not two.
DROP INDEX IF EXISTS calls_analytics;
CREATE INDEX calls_analytics ON calls (tenant_id, start_time, id, direction, answered_at, missed, voicemail, duration_seconds, call_reason, end_time, forwarded_to);

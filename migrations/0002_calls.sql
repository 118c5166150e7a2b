-- Calls: one row per Twilio call leg (CallSid), inbound or outbound, with its routing state.
CREATE TABLE calls (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_sid          TEXT NOT NULL,
    direction         TEXT NOT NULL,
    from_number       TEXT NOT NULL,
    to_number         TEXT NOT NULL,
    status            TEXT NOT NULL,
    strategy          TEXT NOT NULL,
    after_hours       BOOLEAN NOT NULL DEFAULT FALSE,
    route_targets     TEXT NOT NULL DEFAULT '[]',
    route_index       BIGINT NOT NULL DEFAULT 0,
    gather_attempts   BIGINT NOT NULL DEFAULT 0,
    forwarded_to      TEXT,
    call_reason       TEXT,
    notes             TEXT,
    recording_url     TEXT,
    voicemail         BOOLEAN NOT NULL DEFAULT FALSE,
    missed            BOOLEAN NOT NULL DEFAULT FALSE,
    start_time        BIGINT NOT NULL,
    answered_at       BIGINT,
    end_time          BIGINT,
    duration_seconds  BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE UNIQUE INDEX calls__call_sid ON calls (call_sid);
CREATE INDEX calls_by_tenant_time ON calls (tenant_id, start_time);

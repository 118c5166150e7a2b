-- Recordings: one row per Twilio RecordingSid (a voicemail, a recorded call, a recorded outbound call),
-- stored once whatever number of callbacks mention it, with the state of its processing job.
CREATE TABLE recordings (
    id                        TEXT PRIMARY KEY,
    tenant_id                 TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id                   TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    call_sid                  TEXT NOT NULL,
    recording_sid             TEXT NOT NULL,
    -- voicemail (a <Record> verb) or call (a <Dial record> or an outbound call's Record=true).
    kind                      TEXT NOT NULL,
    -- Twilio's RecordingSource (RecordVerb, DialVerb, OutboundAPI, …), when given.
    source                    TEXT,
    -- Twilio's RecordingStatus: in-progress, completed, absent, failed.
    status                    TEXT NOT NULL,
    twilio_url                TEXT,
    duration_seconds          BIGINT,
    channels                  BIGINT,
    error_code                BIGINT,
    -- waiting (not complete yet), pending (job queued), done, skipped (absent/failed), failed.
    processing                TEXT NOT NULL,
    processing_error          TEXT,
    -- Where the media is kept (RECORDINGS_DIR-relative key), once downloaded.
    storage_key               TEXT,
    content_type              TEXT,
    size_bytes                BIGINT,
    -- Twilio's own transcription, from the transcription callback.
    twilio_transcript         TEXT,
    twilio_transcript_status  TEXT,
    completed_at              BIGINT,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL
);
CREATE UNIQUE INDEX recordings__recording_sid ON recordings (recording_sid);
CREATE INDEX recordings_by_tenant ON recordings (tenant_id, created_at);
CREATE INDEX recordings_by_call ON recordings (call_id);

-- The text and analysis of a processed recording: one per recording.
CREATE TABLE transcriptions (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    recording_id      TEXT NOT NULL REFERENCES recordings (id) ON DELETE CASCADE,
    call_id           TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    -- none, twilio or openai.
    provider          TEXT NOT NULL,
    text              TEXT NOT NULL,
    -- Why there is no text, when there is none.
    transcript_error  TEXT,
    summary           TEXT NOT NULL,
    call_reason       TEXT NOT NULL,
    -- positive, neutral or negative.
    sentiment         TEXT NOT NULL,
    -- rules, llm, or llm+rules (the model's answer was partly unusable).
    analysis_source   TEXT NOT NULL,
    created_at        BIGINT NOT NULL
);
CREATE UNIQUE INDEX transcriptions__recording_id ON transcriptions (recording_id);

-- What an outbound call was asked for (seed 002/003 make-call fields), kept beside its call row.
CREATE TABLE outbound_calls (
    call_id       TEXT PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    message       TEXT,
    record        BOOLEAN NOT NULL DEFAULT FALSE,
    user_id       TEXT,
    client_id     TEXT,
    assistant_id  TEXT,
    metadata      TEXT,
    created_at    BIGINT NOT NULL
);

-- Messaging: every SMS in or out (messages), every SMS/e-mail Switchboard must deliver
-- (notifications), opt-outs, and appointments that drive confirmations and reminders.

CREATE TABLE messages (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    message_sid   TEXT,
    direction     TEXT NOT NULL,
    customer      TEXT NOT NULL,
    from_number   TEXT NOT NULL,
    to_number     TEXT NOT NULL,
    body          TEXT NOT NULL,
    num_media     BIGINT NOT NULL DEFAULT 0,
    media_urls    TEXT NOT NULL DEFAULT '[]',
    status        TEXT NOT NULL,
    segments      BIGINT NOT NULL DEFAULT 1,
    error_code    BIGINT,
    notification_id TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX messages__message_sid ON messages (message_sid);
CREATE INDEX messages_thread ON messages (tenant_id, customer, created_at);

CREATE TABLE notifications (
    id                      TEXT PRIMARY KEY,
    tenant_id               TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type                    TEXT NOT NULL,
    recipient               TEXT NOT NULL,
    message                 TEXT NOT NULL,
    status                  TEXT NOT NULL,
    kind                    TEXT NOT NULL,
    related_appointment_id  TEXT,
    related_call_sid        TEXT,
    staff_id                TEXT,
    idempotency_key         TEXT,
    twilio_sid              TEXT,
    error_code              BIGINT,
    failure_reason          TEXT,
    segments                BIGINT NOT NULL DEFAULT 1,
    attempts                BIGINT NOT NULL DEFAULT 0,
    sending_started_at      BIGINT,
    sent_at                 BIGINT,
    delivered_at            BIGINT,
    scheduled_for           BIGINT,
    metadata                TEXT,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL
);
CREATE UNIQUE INDEX notifications__idempotency_key ON notifications (tenant_id, idempotency_key);
CREATE UNIQUE INDEX notifications__twilio_sid ON notifications (twilio_sid);
CREATE INDEX notifications_by_tenant ON notifications (tenant_id, created_at);
CREATE INDEX notifications_by_status ON notifications (status, updated_at);

CREATE TABLE opt_outs (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    phone       TEXT NOT NULL,
    source      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, phone)
);

CREATE TABLE appointments (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    external_id    TEXT NOT NULL,
    customer_name  TEXT NOT NULL,
    customer_phone TEXT NOT NULL,
    staff_id       TEXT,
    staff_name     TEXT,
    service        TEXT,
    starts_at      BIGINT NOT NULL,
    status         TEXT NOT NULL,
    version        BIGINT NOT NULL DEFAULT 1,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX appointments__external_id ON appointments (tenant_id, external_id);

-- Per-tenant messaging settings (reminder offsets, quiet hours, auto-reply switches), JSON.
ALTER TABLE tenants ADD COLUMN messaging TEXT NOT NULL DEFAULT '{}';

-- Per-sender pacing: the earliest instant (epoch ms) the sender's next segment may go to Twilio, shared
-- by every instance so the per-sender throughput limit holds across the cluster.
CREATE TABLE sender_pacing (
    sender   TEXT PRIMARY KEY,
    next_at  BIGINT NOT NULL
);

-- no-transaction
-- Every primary key and unique index of a tenant-owned table includes tenant_id, so the schema can be
-- distributed by tenant_id (Citus; see docs/scaling.md). Per-tenant keys keep their leading column, so
-- a lookup by id or by Twilio SID alone is still served by the same index:
--   staff, api_keys, calls, messages, notifications, appointments, recordings, transcriptions:
--     PRIMARY KEY (id, tenant_id); outbound_calls: PRIMARY KEY (call_id, tenant_id);
--   calls__call_sid (call_sid, tenant_id), messages__message_sid (message_sid, tenant_id),
--   notifications__twilio_sid (twilio_sid, tenant_id), recordings__recording_sid
--   (recording_sid, tenant_id), transcriptions__recording_id (recording_id, tenant_id),
--   api_keys__prefix (prefix, tenant_id);
--   foreign keys between tenant-owned tables carry tenant_id: (call_id, tenant_id) -> calls,
--     (recording_id, tenant_id) -> recordings.
-- The global keys that find a tenant before its shard is known move into two small reference
-- tables, which keep them unique across all tenants:
--   tenant_keys: a tenant's slug, Twilio number and Stripe customer (a number must route to one
--     tenant only, a Stripe customer's events must change one tenant only, a slug names one tenant);
--   api_key_prefixes: an API key's prefix (a key is found by its prefix before its tenant is known).
-- Triggers on tenants and api_keys keep them in step in the same transaction, whoever writes.
--
-- SQLite cannot change a primary key: those tables are rebuilt (create, copy, drop, rename). So are
-- tenants and number_provisioning, whose `TEXT PRIMARY KEY` SQLite lets hold NULL (PostgreSQL does
-- not): their keys become NOT NULL, as the distribution column must be. Foreign
-- keys are off meanwhile (a DROP TABLE would otherwise delete the children through ON DELETE
-- CASCADE), so this migration runs outside the migrator's transaction and opens its own.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE tenants_new (
    id                   TEXT NOT NULL PRIMARY KEY,
    name                 TEXT NOT NULL,
    slug                 TEXT NOT NULL,
    time_zone            TEXT NOT NULL,
    twilio_number        TEXT,
    twilio_number_sid    TEXT,
    subscription_status  TEXT NOT NULL DEFAULT 'NONE',
    stripe_customer_id   TEXT,
    business_hours       TEXT NOT NULL,
    routing_policy       TEXT NOT NULL,
    templates            TEXT NOT NULL,
    round_robin_cursor   BIGINT NOT NULL DEFAULT 0,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    messaging            TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO tenants_new SELECT * FROM tenants;
DROP TABLE tenants;
ALTER TABLE tenants_new RENAME TO tenants;
-- The routing-version triggers of 0008 went with the old table. Its unique indexes of slug, number
-- and Stripe customer move to tenant_keys (below).
CREATE TRIGGER tenants__routing_insert AFTER INSERT ON tenants
BEGIN UPDATE routing_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenants__routing_update AFTER UPDATE OF name, slug, time_zone, twilio_number,
    twilio_number_sid, subscription_status, stripe_customer_id, business_hours, routing_policy,
    templates, messaging ON tenants
BEGIN UPDATE routing_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenants__routing_delete AFTER DELETE ON tenants
BEGIN UPDATE routing_version SET version = version + 1 WHERE id = 1; END;

CREATE TABLE number_provisioning_new (
    tenant_id         TEXT NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    state             TEXT NOT NULL DEFAULT 'none',
    generation        BIGINT NOT NULL DEFAULT 0,
    phone_number      TEXT,
    phone_number_sid  TEXT,
    country           TEXT NOT NULL DEFAULT 'US',
    area_code         TEXT,
    requested_number  TEXT,
    reason            TEXT,
    twilio_code       BIGINT,
    attempts          BIGINT NOT NULL DEFAULT 0,
    last_attempt_at   BIGINT,
    release_after     BIGINT,
    released_at       BIGINT,
    lease_token       TEXT,
    lease_until       BIGINT,
    stripe_event_at   BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
INSERT INTO number_provisioning_new SELECT * FROM number_provisioning;
DROP TABLE number_provisioning;
ALTER TABLE number_provisioning_new RENAME TO number_provisioning;
CREATE INDEX number_provisioning_by_state ON number_provisioning (state);

CREATE TABLE staff_new (
    id          TEXT NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    phone       TEXT NOT NULL,
    email       TEXT,
    role        TEXT NOT NULL,
    priority    BIGINT NOT NULL DEFAULT 0,
    on_duty     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (id, tenant_id)
);
INSERT INTO staff_new SELECT * FROM staff;
DROP TABLE staff;
ALTER TABLE staff_new RENAME TO staff;
CREATE INDEX staff_by_tenant ON staff (tenant_id, priority);
-- The routing-version triggers of 0008 went with the old table.
CREATE TRIGGER staff__routing_insert AFTER INSERT ON staff
BEGIN UPDATE routing_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER staff__routing_update AFTER UPDATE ON staff
BEGIN UPDATE routing_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER staff__routing_delete AFTER DELETE ON staff
BEGIN UPDATE routing_version SET version = version + 1 WHERE id = 1; END;

CREATE TABLE api_keys_new (
    id            TEXT NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    key_hash      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT,
    PRIMARY KEY (id, tenant_id)
);
INSERT INTO api_keys_new SELECT * FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_new RENAME TO api_keys;
CREATE UNIQUE INDEX api_keys__prefix ON api_keys (prefix, tenant_id);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id);

CREATE TABLE calls_new (
    id                TEXT NOT NULL,
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
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (id, tenant_id)
);
INSERT INTO calls_new SELECT * FROM calls;
DROP TABLE calls;
ALTER TABLE calls_new RENAME TO calls;
CREATE UNIQUE INDEX calls__call_sid ON calls (call_sid, tenant_id);
CREATE INDEX calls_analytics ON calls (tenant_id, start_time, direction, answered_at, missed, voicemail, duration_seconds, call_reason);

CREATE TABLE messages_new (
    id            TEXT NOT NULL,
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
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (id, tenant_id)
);
INSERT INTO messages_new SELECT * FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE UNIQUE INDEX messages__message_sid ON messages (message_sid, tenant_id);
CREATE INDEX messages_thread ON messages (tenant_id, customer, created_at);
CREATE INDEX messages_by_tenant_time ON messages (tenant_id, created_at);

CREATE TABLE notifications_new (
    id                      TEXT NOT NULL,
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
    updated_at              BIGINT NOT NULL,
    PRIMARY KEY (id, tenant_id)
);
INSERT INTO notifications_new SELECT * FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE UNIQUE INDEX notifications__idempotency_key ON notifications (tenant_id, idempotency_key);
CREATE UNIQUE INDEX notifications__twilio_sid ON notifications (twilio_sid, tenant_id);
CREATE INDEX notifications_by_tenant ON notifications (tenant_id, created_at);
CREATE INDEX notifications_by_status ON notifications (status, updated_at);
CREATE INDEX notifications_analytics ON notifications (tenant_id, created_at, type, status, kind, related_call_sid, sent_at);

CREATE TABLE appointments_new (
    id             TEXT NOT NULL,
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
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (id, tenant_id)
);
INSERT INTO appointments_new SELECT * FROM appointments;
DROP TABLE appointments;
ALTER TABLE appointments_new RENAME TO appointments;
CREATE UNIQUE INDEX appointments__external_id ON appointments (tenant_id, external_id);
CREATE INDEX appointments_by_tenant_start ON appointments (tenant_id, starts_at);

CREATE TABLE recordings_new (
    id                        TEXT NOT NULL,
    tenant_id                 TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    call_id                   TEXT NOT NULL,
    call_sid                  TEXT NOT NULL,
    recording_sid             TEXT NOT NULL,
    kind                      TEXT NOT NULL,
    source                    TEXT,
    status                    TEXT NOT NULL,
    twilio_url                TEXT,
    duration_seconds          BIGINT,
    channels                  BIGINT,
    error_code                BIGINT,
    processing                TEXT NOT NULL,
    processing_error          TEXT,
    storage_key               TEXT,
    content_type              TEXT,
    size_bytes                BIGINT,
    twilio_transcript         TEXT,
    twilio_transcript_status  TEXT,
    completed_at              BIGINT,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL,
    PRIMARY KEY (id, tenant_id),
    FOREIGN KEY (call_id, tenant_id) REFERENCES calls (id, tenant_id) ON DELETE CASCADE
);
INSERT INTO recordings_new SELECT * FROM recordings;
DROP TABLE recordings;
ALTER TABLE recordings_new RENAME TO recordings;
CREATE UNIQUE INDEX recordings__recording_sid ON recordings (recording_sid, tenant_id);
CREATE INDEX recordings_by_tenant ON recordings (tenant_id, created_at);
CREATE INDEX recordings_by_call ON recordings (call_id);

CREATE TABLE transcriptions_new (
    id                TEXT NOT NULL,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    recording_id      TEXT NOT NULL,
    call_id           TEXT NOT NULL,
    provider          TEXT NOT NULL,
    text              TEXT NOT NULL,
    transcript_error  TEXT,
    summary           TEXT NOT NULL,
    call_reason       TEXT NOT NULL,
    sentiment         TEXT NOT NULL,
    analysis_source   TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (id, tenant_id),
    FOREIGN KEY (recording_id, tenant_id) REFERENCES recordings (id, tenant_id) ON DELETE CASCADE,
    FOREIGN KEY (call_id, tenant_id) REFERENCES calls (id, tenant_id) ON DELETE CASCADE
);
INSERT INTO transcriptions_new SELECT * FROM transcriptions;
DROP TABLE transcriptions;
ALTER TABLE transcriptions_new RENAME TO transcriptions;
CREATE UNIQUE INDEX transcriptions__recording_id ON transcriptions (recording_id, tenant_id);

CREATE TABLE outbound_calls_new (
    call_id       TEXT NOT NULL,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    message       TEXT,
    record        BOOLEAN NOT NULL DEFAULT FALSE,
    user_id       TEXT,
    client_id     TEXT,
    assistant_id  TEXT,
    metadata      TEXT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (call_id, tenant_id),
    FOREIGN KEY (call_id, tenant_id) REFERENCES calls (id, tenant_id) ON DELETE CASCADE
);
INSERT INTO outbound_calls_new SELECT * FROM outbound_calls;
DROP TABLE outbound_calls;
ALTER TABLE outbound_calls_new RENAME TO outbound_calls;

-- The directory of tenants' global keys (a reference table: see the header).
CREATE TABLE tenant_keys (
    tenant_id           TEXT PRIMARY KEY,
    slug                TEXT NOT NULL,
    twilio_number       TEXT,
    stripe_customer_id  TEXT
);
INSERT INTO tenant_keys (tenant_id, slug, twilio_number, stripe_customer_id)
    SELECT id, slug, twilio_number, stripe_customer_id FROM tenants;
CREATE UNIQUE INDEX tenant_keys__slug ON tenant_keys (slug);
CREATE UNIQUE INDEX tenant_keys__twilio_number ON tenant_keys (twilio_number);
CREATE UNIQUE INDEX tenant_keys__stripe_customer_id ON tenant_keys (stripe_customer_id);
CREATE TRIGGER tenants__keys_insert AFTER INSERT ON tenants
BEGIN
    INSERT INTO tenant_keys (tenant_id, slug, twilio_number, stripe_customer_id)
    VALUES (NEW.id, NEW.slug, NEW.twilio_number, NEW.stripe_customer_id);
END;
CREATE TRIGGER tenants__keys_update AFTER UPDATE OF slug, twilio_number, stripe_customer_id ON tenants
BEGIN
    UPDATE tenant_keys SET slug = NEW.slug, twilio_number = NEW.twilio_number,
        stripe_customer_id = NEW.stripe_customer_id
    WHERE tenant_id = OLD.id;
END;
CREATE TRIGGER tenants__keys_delete AFTER DELETE ON tenants
BEGIN DELETE FROM tenant_keys WHERE tenant_id = OLD.id; END;

-- API key prefixes, unique across tenants (a reference table: see the header).
CREATE TABLE api_key_prefixes (
    prefix     TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    CONSTRAINT api_key_prefixes__prefix PRIMARY KEY (prefix)
);
INSERT INTO api_key_prefixes (prefix, tenant_id) SELECT prefix, tenant_id FROM api_keys;
CREATE TRIGGER api_keys__prefix_insert AFTER INSERT ON api_keys
BEGIN INSERT INTO api_key_prefixes (prefix, tenant_id) VALUES (NEW.prefix, NEW.tenant_id); END;
CREATE TRIGGER api_keys__prefix_update AFTER UPDATE OF prefix, tenant_id ON api_keys
BEGIN
    UPDATE api_key_prefixes SET prefix = NEW.prefix, tenant_id = NEW.tenant_id
    WHERE prefix = OLD.prefix;
END;
CREATE TRIGGER api_keys__prefix_delete AFTER DELETE ON api_keys
BEGIN DELETE FROM api_key_prefixes WHERE prefix = OLD.prefix; END;

COMMIT;
PRAGMA foreign_keys = ON;

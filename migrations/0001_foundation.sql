-- Foundation: tenants, staff, API keys, settings and the job outbox.
-- Instants are epoch milliseconds (BIGINT); JSON documents are TEXT.

CREATE TABLE app_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tenants (
    id                   TEXT PRIMARY KEY,
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
    updated_at           BIGINT NOT NULL
);
CREATE UNIQUE INDEX tenants__slug ON tenants (slug);
CREATE UNIQUE INDEX tenants__twilio_number ON tenants (twilio_number);
CREATE UNIQUE INDEX tenants__stripe_customer_id ON tenants (stripe_customer_id);

CREATE TABLE staff (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    phone       TEXT NOT NULL,
    email       TEXT,
    role        TEXT NOT NULL,
    priority    BIGINT NOT NULL DEFAULT 0,
    on_duty     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX staff_by_tenant ON staff (tenant_id, priority);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    key_hash      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
CREATE UNIQUE INDEX api_keys__prefix ON api_keys (prefix);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id);

-- The durable outbox: every side effect is a row here, written in the same transaction as the change
-- that caused it. status: pending | running | done | dead.
CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    tenant_id     TEXT,
    status        TEXT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    max_attempts  BIGINT NOT NULL,
    run_at        BIGINT NOT NULL,
    locked_until  BIGINT,
    lease_token   TEXT,
    last_error    TEXT,
    dedupe_key    TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    finished_at   BIGINT
);
CREATE UNIQUE INDEX jobs__dedupe_key ON jobs (dedupe_key);
CREATE INDEX jobs_due ON jobs (status, run_at);
CREATE INDEX jobs_lease ON jobs (status, locked_until);

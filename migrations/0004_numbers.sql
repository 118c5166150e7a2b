-- Phone numbers: one provisioning row per tenant, the durable state machine of its Twilio number.
-- state: none | provisioning | active | releasing | released | failed.
-- generation grows with every transition that starts a job; jobs carry the generation they were
-- enqueued for (also in their dedupe key), so a job made stale by a later transition does nothing.
-- lease_token/lease_until make provisioning and release runs mutually exclusive per tenant, across
-- instances, because Twilio has no idempotency key for buying a number.

CREATE TABLE number_provisioning (
    tenant_id         TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
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
CREATE INDEX number_provisioning_by_state ON number_provisioning (state);

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

-- Foreign keys that reference a key about to change go first, and come back composite.
ALTER TABLE recordings DROP CONSTRAINT recordings_call_id_fkey;
ALTER TABLE transcriptions DROP CONSTRAINT transcriptions_recording_id_fkey,
    DROP CONSTRAINT transcriptions_call_id_fkey;
ALTER TABLE outbound_calls DROP CONSTRAINT outbound_calls_call_id_fkey;

ALTER TABLE staff DROP CONSTRAINT staff_pkey, ADD CONSTRAINT staff_pkey PRIMARY KEY (id, tenant_id);
ALTER TABLE api_keys DROP CONSTRAINT api_keys_pkey, ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id, tenant_id);
ALTER TABLE calls DROP CONSTRAINT calls_pkey, ADD CONSTRAINT calls_pkey PRIMARY KEY (id, tenant_id);
ALTER TABLE messages DROP CONSTRAINT messages_pkey, ADD CONSTRAINT messages_pkey PRIMARY KEY (id, tenant_id);
ALTER TABLE notifications DROP CONSTRAINT notifications_pkey,
    ADD CONSTRAINT notifications_pkey PRIMARY KEY (id, tenant_id);
ALTER TABLE appointments DROP CONSTRAINT appointments_pkey,
    ADD CONSTRAINT appointments_pkey PRIMARY KEY (id, tenant_id);
ALTER TABLE recordings DROP CONSTRAINT recordings_pkey,
    ADD CONSTRAINT recordings_pkey PRIMARY KEY (id, tenant_id);
ALTER TABLE transcriptions DROP CONSTRAINT transcriptions_pkey,
    ADD CONSTRAINT transcriptions_pkey PRIMARY KEY (id, tenant_id);
ALTER TABLE outbound_calls DROP CONSTRAINT outbound_calls_pkey,
    ADD CONSTRAINT outbound_calls_pkey PRIMARY KEY (call_id, tenant_id);

ALTER TABLE recordings ADD CONSTRAINT recordings_call_id_fkey
    FOREIGN KEY (call_id, tenant_id) REFERENCES calls (id, tenant_id) ON DELETE CASCADE;
ALTER TABLE transcriptions ADD CONSTRAINT transcriptions_recording_id_fkey
    FOREIGN KEY (recording_id, tenant_id) REFERENCES recordings (id, tenant_id) ON DELETE CASCADE;
ALTER TABLE transcriptions ADD CONSTRAINT transcriptions_call_id_fkey
    FOREIGN KEY (call_id, tenant_id) REFERENCES calls (id, tenant_id) ON DELETE CASCADE;
ALTER TABLE outbound_calls ADD CONSTRAINT outbound_calls_call_id_fkey
    FOREIGN KEY (call_id, tenant_id) REFERENCES calls (id, tenant_id) ON DELETE CASCADE;

DROP INDEX api_keys__prefix;
CREATE UNIQUE INDEX api_keys__prefix ON api_keys (prefix, tenant_id);
DROP INDEX calls__call_sid;
CREATE UNIQUE INDEX calls__call_sid ON calls (call_sid, tenant_id);
DROP INDEX messages__message_sid;
CREATE UNIQUE INDEX messages__message_sid ON messages (message_sid, tenant_id);
DROP INDEX notifications__twilio_sid;
CREATE UNIQUE INDEX notifications__twilio_sid ON notifications (twilio_sid, tenant_id);
DROP INDEX recordings__recording_sid;
CREATE UNIQUE INDEX recordings__recording_sid ON recordings (recording_sid, tenant_id);
DROP INDEX transcriptions__recording_id;
CREATE UNIQUE INDEX transcriptions__recording_id ON transcriptions (recording_id, tenant_id);

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
DROP INDEX tenants__slug;
DROP INDEX tenants__twilio_number;
DROP INDEX tenants__stripe_customer_id;

CREATE FUNCTION sync_tenant_keys() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tenant_keys (tenant_id, slug, twilio_number, stripe_customer_id)
        VALUES (NEW.id, NEW.slug, NEW.twilio_number, NEW.stripe_customer_id);
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE tenant_keys SET slug = NEW.slug, twilio_number = NEW.twilio_number,
            stripe_customer_id = NEW.stripe_customer_id
        WHERE tenant_id = OLD.id;
    ELSE
        DELETE FROM tenant_keys WHERE tenant_id = OLD.id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER tenants__keys
    AFTER INSERT OR DELETE OR UPDATE OF slug, twilio_number, stripe_customer_id
    ON tenants FOR EACH ROW EXECUTE FUNCTION sync_tenant_keys();

-- API key prefixes, unique across tenants (a reference table: see the header).
CREATE TABLE api_key_prefixes (
    prefix     TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    CONSTRAINT api_key_prefixes__prefix PRIMARY KEY (prefix)
);
INSERT INTO api_key_prefixes (prefix, tenant_id) SELECT prefix, tenant_id FROM api_keys;

CREATE FUNCTION sync_api_key_prefixes() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO api_key_prefixes (prefix, tenant_id) VALUES (NEW.prefix, NEW.tenant_id);
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE api_key_prefixes SET prefix = NEW.prefix, tenant_id = NEW.tenant_id
        WHERE prefix = OLD.prefix;
    ELSE
        DELETE FROM api_key_prefixes WHERE prefix = OLD.prefix;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER api_keys__prefix
    AFTER INSERT OR DELETE OR UPDATE OF prefix, tenant_id
    ON api_keys FOR EACH ROW EXECUTE FUNCTION sync_api_key_prefixes();

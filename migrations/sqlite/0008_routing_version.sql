-- A counter that moves whenever what routes a call changes (a tenant other than its round-robin
-- cursor, or its staff), in the same transaction as the change, whoever makes it: this process,
-- another instance, the CLI. Each process's routing cache re-reads it to know when to drop what it
-- holds (src/db/routing_cache.rs).
CREATE TABLE routing_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO routing_version (id, version) VALUES (1, 0);

CREATE TRIGGER tenants__routing_insert AFTER INSERT ON tenants
BEGIN UPDATE routing_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenants__routing_update AFTER UPDATE OF name, slug, time_zone, twilio_number,
    twilio_number_sid, subscription_status, stripe_customer_id, business_hours, routing_policy,
    templates, messaging ON tenants
BEGIN UPDATE routing_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tenants__routing_delete AFTER DELETE ON tenants
BEGIN UPDATE routing_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER staff__routing_insert AFTER INSERT ON staff
BEGIN UPDATE routing_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER staff__routing_update AFTER UPDATE ON staff
BEGIN UPDATE routing_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER staff__routing_delete AFTER DELETE ON staff
BEGIN UPDATE routing_version SET version = version + 1 WHERE id = 1; END;

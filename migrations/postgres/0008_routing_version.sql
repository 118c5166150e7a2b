-- A counter that moves whenever what routes a call changes (a tenant other than its round-robin
-- cursor, or its staff), in the same transaction as the change, whoever makes it: this process,
-- another instance, the CLI. Each process's routing cache re-reads it to know when to drop what it
-- holds (src/db/routing_cache.rs). Statement-level triggers: one bump per statement.
CREATE TABLE routing_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO routing_version (id, version) VALUES (1, 0);

CREATE FUNCTION bump_routing_version() RETURNS trigger AS $$
BEGIN
    UPDATE routing_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER tenants__routing_changed
    AFTER INSERT OR DELETE OR UPDATE OF name, slug, time_zone, twilio_number, twilio_number_sid,
        subscription_status, stripe_customer_id, business_hours, routing_policy, templates, messaging
    ON tenants FOR EACH STATEMENT EXECUTE FUNCTION bump_routing_version();
CREATE TRIGGER staff__routing_changed
    AFTER INSERT OR UPDATE OR DELETE ON staff
    FOR EACH STATEMENT EXECUTE FUNCTION bump_routing_version();

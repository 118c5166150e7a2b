-- Events for host apps and services, the endpoints that receive them, and every delivery attempt.

CREATE TABLE events (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT,
    type          TEXT NOT NULL,
    -- Deliveries sharing an ordering key (a call's SID) go out in creation order.
    ordering_key  TEXT,
    payload       TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX events_by_tenant ON events (tenant_id, created_at);

CREATE TABLE relay_endpoints (
    id               TEXT PRIMARY KEY,
    -- NULL: a global endpoint that receives every tenant's events.
    tenant_id        TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    -- standard (Standard Webhooks) or as_call_service (the seed-004 preset).
    kind             TEXT NOT NULL,
    url              TEXT NOT NULL,
    secret           TEXT NOT NULL,
    -- JSON array of event types; empty = all.
    event_types      TEXT NOT NULL DEFAULT '[]',
    enabled          BOOLEAN NOT NULL DEFAULT TRUE,
    disabled_reason  TEXT,
    description      TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX relay_endpoints_by_tenant ON relay_endpoints (tenant_id);

CREATE TABLE deliveries (
    id               TEXT PRIMARY KEY,
    event_id         TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    endpoint_id      TEXT NOT NULL REFERENCES relay_endpoints (id) ON DELETE CASCADE,
    ordering_key     TEXT,
    -- pending, delivered, dead
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    last_status_code BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    delivered_at     BIGINT
);
CREATE INDEX deliveries_by_endpoint ON deliveries (endpoint_id, status, created_at);
CREATE INDEX deliveries_ordering ON deliveries (endpoint_id, ordering_key, created_at);

CREATE TABLE delivery_attempts (
    id           TEXT PRIMARY KEY,
    delivery_id  TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    at           BIGINT NOT NULL,
    status_code  BIGINT,
    latency_ms   BIGINT NOT NULL,
    error        TEXT
);
CREATE INDEX delivery_attempts_by_delivery ON delivery_attempts (delivery_id, at);

-- The web console's sign-in: single-use login links a host app asks for on behalf of a business,
-- and browser sessions. Only SHA-256 digests of the tokens are stored, so a copy of this table
-- signs no one in. Both are looked up by that digest before the tenant is known (and operator
-- sessions have no tenant), so they are global tables, not distributed by tenant.

CREATE TABLE console_links (
    token_hash  TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    -- Set by the one redemption that counts.
    used_at     BIGINT
);
CREATE INDEX console_links_by_expiry ON console_links (expires_at);

CREATE TABLE console_sessions (
    token_hash  TEXT PRIMARY KEY,
    -- NULL: an operator's session (signed in with ADMIN_TOKEN), which sees every tenant.
    tenant_id   TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    -- Every form and htmx request carries it; compared in constant time.
    csrf_token  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);

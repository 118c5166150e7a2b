-- Events are indexed by time first, not by tenant first.
--
-- Why: every webhook stores one or two events, and a group-commit batch holds the webhooks of many
-- tenants. In an index led by tenant_id each of those tenants appends at a different leaf, so every
-- batch changed one leaf per tenant, and SQLite writes each changed page whole to its WAL (4 KiB)
-- at every commit: events_by_tenant was about a tenth of the webhook path's cost (docs/scaling.md).
-- Led by created_at, every new event lands at the same right-hand leaf: one page a batch.
--
-- What reads it: the admin events list (`GET /api/admin/events`), newest first. Unfiltered, it is
-- now one backward range read (before, a scan and sort of the whole table, since the old index
-- could not order events across tenants); filtered by tenant, a backward read that skips other
-- tenants' entries inside the index, stopping once the page is full.
DROP INDEX IF EXISTS events_by_tenant;
CREATE INDEX events_by_time ON events (created_at, tenant_id);

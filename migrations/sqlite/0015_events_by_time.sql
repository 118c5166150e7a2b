-- SQLite: events are indexed by time first, not by tenant first (PostgreSQL keeps its tenant
-- index: migrations/postgres/0015).
--
-- Why: every webhook stores one or two events, and a group-commit batch holds the webhooks of many
-- tenants. In an index led by tenant_id each of those tenants appends at a different leaf, so every
-- batch changed one leaf per tenant, and SQLite writes each changed page whole to its WAL (4 KiB)
-- at every commit, then copies it again at the checkpoint: events_by_tenant cost 8-12 % of the
-- webhook throughput (docs/scaling.md, sixteenth session). Led by created_at, every new event lands
-- at the same right-hand leaf: one page a batch.
--
-- What reads it: the admin events list (`GET /api/admin/events`), newest first. Unfiltered, one
-- backward range read (before, a scan and sort of the whole table: the list's filter could not use
-- the old index); filtered by tenant or type, a backward read that skips other events inside the
-- index and stops once the page is full. Its total counts along the index.
DROP INDEX IF EXISTS events_by_tenant;
CREATE INDEX events_by_time ON events (created_at, tenant_id);

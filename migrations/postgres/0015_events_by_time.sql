-- PostgreSQL keeps events indexed by tenant first; SQLite moves to a time-first index here
-- (migrations/sqlite/0015, which says why).
--
-- Why not here too: PostgreSQL's WAL logs an index insert as a small record, not the whole page,
-- so the tenant-first index costs a webhook little (2-4 % of the benchmark's throughput, against
-- 8-12 % on SQLite), and it serves what a deployment with many tenants asks of the admin events
-- list: a tenant's page and its total in proportion to that tenant's events, not to everyone's.
COMMENT ON INDEX events_by_tenant IS
    'The admin events list filtered by tenant: its pages and totals (migration 0015 keeps it on PostgreSQL).';

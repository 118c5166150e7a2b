-- Nothing changes on SQLite. On PostgreSQL (migrations/postgres/0016) calls and messages lose their
-- foreign keys to tenants: the group-commit writer locks each batch's tenants once instead of a
-- check per row, and a trigger deletes a deleted tenant's calls and messages. Here calls and
-- messages keep both keys: one writer holds the write lock for its whole batch, so no tenant can be
-- deleted between a batch's load and its commit, and each key check is a lookup in a cached page.
-- (Every migration version exists on both backends; this statement is a no-op.)
SELECT 1;

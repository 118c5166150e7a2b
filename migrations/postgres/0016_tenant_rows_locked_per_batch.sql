-- Calls and messages are stored only by the group-commit writer (src/db/batch). Their foreign keys
-- to tenants checked every new row on PostgreSQL: a query and a FOR KEY SHARE lock on the tenant's
-- row per call or message, 5-8 % of the webhook benchmark's throughput (docs/scaling.md). The
-- writer now takes that lock once per tenant and batch, in the statement that loads the batch
-- (src/db/batch/pg_load.rs, `Keys::owners`): until the batch commits, none of its tenants can be
-- deleted, and a unit that stores a call or message for a tenant the load did not find and lock
-- (deleted since the request found it) fails alone, as a foreign-key violation would have it.
--
-- Deleting a tenant still deletes its calls and messages, in the deleting transaction: the trigger
-- below does what ON DELETE CASCADE did (and the keys from recordings, transcriptions and
-- outbound calls to calls cascade on from there). A delete waits for any batch holding the tenant's
-- row, so it also removes what that batch stored.
--
-- SQLite keeps both foreign keys (its 0016 changes nothing): there one writer holds the write lock
-- for the whole batch, and its key checks are a lookup in a cached page.
ALTER TABLE calls DROP CONSTRAINT calls_tenant_id_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_tenant_id_fkey;

CREATE FUNCTION delete_tenant_calls_and_messages() RETURNS trigger AS $$
BEGIN
    DELETE FROM calls WHERE tenant_id = OLD.id;
    DELETE FROM messages WHERE tenant_id = OLD.id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER tenants__delete_calls_and_messages
    AFTER DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION delete_tenant_calls_and_messages();

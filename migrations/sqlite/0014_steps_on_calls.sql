-- A call's steps move from their own table (0013) onto the call's row: `calls.steps`, one JSON
-- object per line (`{"at":<epoch ms>,"step":{"kind":…,…}}`), appended to by the transaction or
-- group-commit batch of the change each step describes.
--
-- Why: every webhook already rewrites its call's row, so a step kept there costs no index page of
-- its own. As rows of a table of their own, each step also inserted into an index ordered by call,
-- a random page per webhook: a batch of thirty webhooks wrote about thirty more pages to the WAL,
-- and the webhook benchmark lost about a quarter of its throughput. Steps already recorded are
-- copied, oldest first, before the table goes.
ALTER TABLE calls ADD COLUMN steps TEXT NOT NULL DEFAULT '';
UPDATE calls SET steps = (
    SELECT group_concat(json_object('at', s.at, 'step', json(s.detail)), char(10) ORDER BY s.at, s.id) || char(10)
    FROM call_steps s
    WHERE s.call_id = calls.id AND s.tenant_id = calls.tenant_id
)
WHERE EXISTS (SELECT 1 FROM call_steps s WHERE s.call_id = calls.id AND s.tenant_id = calls.tenant_id);
DROP TABLE call_steps;

-- A call's steps move from their own table (0013) onto the call's row: `calls.steps`, one JSON
-- object per line (`{"at":<epoch ms>,"step":{"kind":…,…}}`), appended to by the transaction or
-- group-commit batch of the change each step describes.
--
-- Why: every webhook already rewrites its call's row, so a step kept there costs no index entry of
-- its own. As rows of a table of their own, each step also inserted into an index ordered by call,
-- a random page per webhook, and the webhook benchmark lost about a quarter of its throughput.
-- Steps already recorded are copied, oldest first, before the table goes.
ALTER TABLE calls ADD COLUMN steps TEXT NOT NULL DEFAULT '';
UPDATE calls SET steps = s.lines
FROM (
    SELECT tenant_id, call_id,
           string_agg(json_build_object('at', at, 'step', detail::json)::text, E'\n' ORDER BY at, id) || E'\n' AS lines
    FROM call_steps
    GROUP BY tenant_id, call_id
) s
WHERE calls.id = s.call_id AND calls.tenant_id = s.tenant_id;
DROP TABLE call_steps;

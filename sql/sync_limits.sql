-- Byte limits the catalog declares are limits the engine enforces (SPEC
-- sections 3, 4 and 6): no request goes over the action's max_batch_bytes,
-- and a record that alone would make a request over it is an invalid record
-- (SPEC 4: "a payload over the size limit"): never sent, not checkpointed,
-- listed in record_errors and tried again by every later run. preview_mapping
-- leaves it out, as it does every invalid record; send_test_record refuses it.
-- Needs sync_setup (mock helpers). Run ids are never printed.
SET client_min_messages = warning;

SELECT type, action, max_batch_records, max_batch_bytes
  FROM reverse_etl.destination_actions WHERE type = 'webhook';

-- With batch_size 3 a body is [e1,e2,e3], each element {"id":N,"pad":"..."}:
-- 16 bytes plus the id's digits plus the pad. Records 1-5 are small; 7 makes
-- a request of exactly 5242880 bytes alone (2 + 16 + 1 + 5242861); 8 one
-- byte more; 6 is 6 MB.
CREATE TABLE public.sl_items (id int PRIMARY KEY, pad text);
INSERT INTO public.sl_items
    SELECT g, 'small' FROM generate_series(1, 5) AS g
    UNION ALL VALUES (6, repeat('x', 6000000)), (7, repeat('y', 5242861)), (8, repeat('z', 5242862));
SELECT reverse_etl.create_model('sl items', 'SELECT id, pad FROM public.sl_items', 'id');
SELECT reverse_etl.create_destination('sl hook', 'webhook',
    jsonb_build_object('url', mock_url('/sl'), 'batch_size', 3), enabled => true);
SELECT reverse_etl.create_mapping('sl items', 'sl hook', 'send', '{"id": "id", "pad": "pad"}', name => 'sl items');

-- A run's counters and error.
CREATE FUNCTION public.sl_sync(mapping text)
RETURNS TABLE(status text, added bigint, unchanged bigint, invalid bigint, selected bigint, succeeded bigint,
              failed bigint, requests bigint, error text)
LANGUAGE sql AS $$
    SELECT r.status, r.records_added, r.records_unchanged, r.records_invalid, r.records_selected,
           r.records_succeeded, r.records_failed, r.requests_sent, r.error
      FROM reverse_etl.sync(mapping) AS r
$$;

-- What the mock received: one row per request, its size and record ids.
CREATE FUNCTION public.sl_requests() RETURNS TABLE(body_bytes int, within_limit boolean, ids text)
LANGUAGE sql AS $$
    SELECT (r->>'body_bytes')::int, (r->>'body_bytes')::int <= 5242880,
           (SELECT string_agg(e->>'id', ',' ORDER BY (e->>'id')::int)
              FROM jsonb_array_elements((r->>'body')::jsonb) AS e)
      FROM mock_requests() AS r
     -- Requests run concurrently: order them by their records, not arrival.
     ORDER BY (SELECT min((e->>'id')::int) FROM jsonb_array_elements((r->>'body')::jsonb) AS e),
              (r->>'seq')::int
$$;

-- The mapping's record errors. The payload of a record too big for any
-- request is not kept (the error gives its size).
CREATE FUNCTION public.sl_errors()
RETURNS TABLE(record_id text, change text, kind text, error text, payload_kept boolean, attempts int)
LANGUAGE sql AS $$
    SELECT e.record_id, e.change, e.kind, e.error, e.payload IS NOT NULL, e.attempts
      FROM reverse_etl.record_errors AS e WHERE e.mapping = 'sl items' ORDER BY e.record_id::int
$$;

-- The dry run lists what the next run would send: not 6 and 8.
SELECT record_id, change, octet_length(payload->>'pad') AS pad_bytes
  FROM reverse_etl.preview_mapping('sl items') ORDER BY record_id::int;

-- send_test_record refuses a record no request can carry, and sends nothing;
-- the one at the limit goes, alone, in a request of exactly the limit.
SELECT mock_reset();
SELECT reverse_etl.send_test_record('sl items', record_id => '6');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.send_test_record('sl items', record_id => '8');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.send_test_record('sl items', record_id => '7')->'response'->'status' AS status;
SELECT * FROM public.sl_requests();

-- The run: 6 and 8 invalid, the others delivered, in requests that all fit
-- (7 alone); the run partially succeeded.
SELECT mock_reset();
SELECT * FROM public.sl_sync('sl items');
SELECT * FROM public.sl_requests();
SELECT * FROM public.sl_errors();
SELECT records_invalid, status FROM reverse_etl.sync_runs WHERE mapping = 'sl items';

-- Not checkpointed: the next run selects them again (and only them), and
-- they are invalid again; nothing is sent.
SELECT mock_reset();
SELECT * FROM public.sl_sync('sl items');
SELECT count(*) AS requests FROM mock_requests();
SELECT * FROM public.sl_errors();

-- Once small enough, the record goes and its error row with it.
UPDATE public.sl_items SET pad = 'fixed' WHERE id = 6;
SELECT mock_reset();
SELECT * FROM public.sl_sync('sl items');
SELECT * FROM public.sl_requests();
SELECT * FROM public.sl_errors();

-- Clean up.
SELECT mock_reset();
SELECT reverse_etl.drop_model('sl items', cascade => true);
SELECT reverse_etl.drop_destination('sl hook');
DROP FUNCTION public.sl_sync(text), public.sl_requests(), public.sl_errors();
DROP TABLE public.sl_items;
RESET client_min_messages;

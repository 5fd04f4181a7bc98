-- Event destinations against mocks that speak the vendors' APIs (issue 14):
-- Mixpanel (import_events), Amplitude (log_event), Braze (track_event,
-- track_purchase). For each: the first sync and what the vendor stored, a
-- record the vendor refuses mapped back to that record alone, bad
-- credentials failing the run with the vendor's words, a 429 waited out,
-- preview_mapping and send_test_record showing the exact request.
SET client_min_messages = warning;

CREATE TABLE public.ve_events (
    id       int PRIMARY KEY,
    name     text,
    user_id  text,
    at       timestamptz,
    props    jsonb,
    price    numeric
);
INSERT INTO public.ve_events VALUES
    (1, 'Signed Up', 'user-1', '2026-01-05 10:00:00.125+00', '{"plan": "pro", "seats": 3}', 49.00),
    (2, 'Upgraded',  'user-2', '2026-01-06 00:00:00+02',     '{}',                          1.50),
    (3, 'Signed Up', 'undefined', '2026-01-07 12:00:00+00',  NULL,                          2),
    (4, 'Churned',   'user-4', '2026-01-08 12:00:00+00',     '{"reason": "price"}',          3);
SELECT reverse_etl.create_model('ve_events', 'SELECT * FROM public.ve_events', 'id');

------------------------------------------------------------------------------
-- Mixpanel
------------------------------------------------------------------------------
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "mixpanel", "project_token": "mp-token-1"}}');
SELECT reverse_etl.create_destination('ve_mixpanel', 'mixpanel',
    jsonb_build_object('project_token', 'mp-token-1', 'endpoint', mock_url()), enabled => true);
SELECT reverse_etl.create_mapping('ve_events', 've_mixpanel', 'import_events',
    '{"event": "name", "distinct_id": "user_id", "time": "at", "properties": "props"}');
SELECT type, action, name, sync_modes, default_sync_mode, max_batch_records
  FROM reverse_etl.destination_actions WHERE type = 'mixpanel' AND action = 'import_events';
-- The exact element: properties merged with distinct_id, time in epoch
-- milliseconds and a 36-character $insert_id.
SELECT record_id, payload->'event' AS event, (payload->'properties') - '$insert_id' AS properties,
       length(payload->'properties'->>'$insert_id') AS insert_id_length
  FROM reverse_etl.preview_mapping('Send Events') ORDER BY record_id;
-- Record 3's distinct_id is one Mixpanel refuses: it alone is rejected, with
-- Mixpanel's words; the three others are imported in the same request.
SELECT * FROM public.sync_outcome('Send Events');
SELECT record_id, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'Send Events';
SELECT count(*) AS requests, min(r->>'path') AS path, min(r->'headers'->>'authorization') AS authorization
  FROM public.mock_requests() AS r;
SELECT e->'event' AS event, e->'properties'->'distinct_id' AS distinct_id, e->'properties'->'time' AS time,
       e->'properties'->'plan' AS plan
  FROM jsonb_array_elements(public.mock_vendor_state()->'events') AS e ORDER BY e->'properties'->>'time';
-- "add" sends new records only: a changed one is not sent again.
UPDATE public.ve_events SET name = 'Signed Up Again' WHERE id = 1;
SELECT * FROM public.sync_outcome('Send Events');
-- A wrong token: Mixpanel's 401 fails the run with its message, and the new
-- record waits for the next run.
INSERT INTO public.ve_events VALUES (5, 'Invited', 'user-5', '2026-01-09 08:00:00+00', '{}', 0);
SELECT reverse_etl.alter_destination('ve_mixpanel', '{"project_token": "wrong"}');
SELECT * FROM public.sync_outcome('Send Events');
-- A 429 with Retry-After: the request is sent again after waiting, and the
-- record goes through.
SELECT reverse_etl.alter_destination('ve_mixpanel', '{"project_token": "mp-token-1"}');
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "mixpanel", "project_token": "mp-token-1"},
    "script": [{"status": 429, "headers": {"Retry-After": "1"},
                "body": {"code": 429, "error": "Project exceeded rate limits. Please retry the request with exponential backoff.", "status": "Too Many Requests"}}]}');
SELECT * FROM public.sync_outcome('Send Events');
SELECT count(*) AS requests, array_agg((r->>'status')::int ORDER BY (r->>'seq')::int) AS statuses,
       max((r->>'epoch')::float8) - min((r->>'epoch')::float8) >= 0.9 AS waited
  FROM public.mock_requests() AS r;
-- send_test_record: the exact request (the token masked) and Mixpanel's answer.
SELECT t->'request'->>'method' AS method, t->'request'->>'url' ~ '/import\?strict=1$' AS url,
       t->'request'->'headers'->>'Authorization' AS authorization,
       t->'request'->'body'->0->'properties' ? '$insert_id' AS has_insert_id,
       t->'response'->'status' AS status, t->'response'->'body' AS body
  FROM reverse_etl.send_test_record('Send Events', '2') AS t;

------------------------------------------------------------------------------
-- Amplitude
------------------------------------------------------------------------------
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "amplitude", "api_key": "amp-key-1"}}');
UPDATE public.ve_events SET user_id = 'u3' WHERE id = 3;   -- shorter than Amplitude's 5 characters
SELECT reverse_etl.create_destination('ve_amplitude', 'amplitude',
    jsonb_build_object('api_key', 'amp-key-1', 'endpoint', mock_url()), enabled => true);
SELECT reverse_etl.create_mapping('ve_events', 've_amplitude', 'log_event',
    '{"event_type": "name", "user_id": "user_id", "time": "at", "event_properties": "props", "revenue": "price"}');
SELECT record_id, payload - 'insert_id' AS payload FROM reverse_etl.preview_mapping('Log Event') ORDER BY record_id;
-- Amplitude refuses the whole request for record 3's short user_id: that
-- record is rejected with Amplitude's reason, the others are sent again and
-- ingested.
SELECT * FROM public.sync_outcome('Log Event');
SELECT record_id, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'Log Event';
SELECT (r->>'seq')::int AS seq, r->'status' AS status,
       (SELECT array_agg(e->>'user_id') FROM jsonb_array_elements((r->>'body')::jsonb->'events') AS e) AS users,
       (r->>'body')::jsonb->>'api_key' AS api_key
  FROM public.mock_requests() AS r ORDER BY 1;
SELECT jsonb_array_length(public.mock_vendor_state()->'events') AS events_ingested;
-- A wrong API key: Amplitude answers 400, which here means bad credentials.
INSERT INTO public.ve_events VALUES (6, 'Invited', 'user-6', '2026-01-10 08:00:00+00', '{}', 0);
SELECT reverse_etl.alter_destination('ve_amplitude', '{"api_key": "nope-key"}');
SELECT * FROM public.sync_outcome('Log Event');
SELECT reverse_etl.alter_destination('ve_amplitude', '{"api_key": "amp-key-1"}');
-- send_test_record shows the key in the body masked.
SELECT t->'request'->'body'->>'api_key' AS api_key, t->'response'->'status' AS status
  FROM reverse_etl.send_test_record('Log Event', '1') AS t;

------------------------------------------------------------------------------
-- Braze
------------------------------------------------------------------------------
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "braze", "api_key": "braze-key-1", "reject": {"user-4": "bad event"}}}');
SELECT reverse_etl.create_destination('ve_braze', 'braze',
    jsonb_build_object('api_key', 'braze-key-1', 'endpoint', mock_url()), enabled => true);
SELECT reverse_etl.create_mapping('ve_events', 've_braze', 'track_event',
    '{"external_id": "user_id", "name": "name", "time": "at", "properties": "props"}');
SELECT reverse_etl.create_mapping('ve_events', 've_braze', 'track_purchase',
    '{"external_id": "user_id", "product_id": "name", "currency": {"value": "USD"}, "price": "price", "time": "at"}');
-- user-4's event and purchase are refused by Braze (201 with errors naming
-- their index); the others of the request are stored.
SELECT * FROM public.sync_outcome('Track Event');
SELECT record_id, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'Track Event';
SELECT * FROM public.sync_outcome('Track Purchase');
SELECT r->>'path' AS path, jsonb_object_keys((r->>'body')::jsonb) AS body_array, r->'status' AS status
  FROM public.mock_requests() AS r ORDER BY (r->>'seq')::int;
SELECT u.key AS external_id, jsonb_array_length(u.value->'events') AS events,
       jsonb_array_length(u.value->'purchases') AS purchases
  FROM jsonb_each(public.mock_vendor_state()->'users') AS u ORDER BY 1;
-- A rate limit: Braze's 429 with Retry-After, waited out.
SELECT public.mock_reset();
SELECT public.mock_config('{"script": [{"status": 429, "headers": {"Retry-After": "1"}, "body": {"message": "Rate Limited"}}],
    "vendor": {"type": "braze", "api_key": "braze-key-1"}}');
INSERT INTO public.ve_events VALUES (7, 'Invited', 'user-7', '2026-01-11 08:00:00+00', '{}', 5);
SELECT * FROM public.sync_outcome('Track Event');
SELECT array_agg((r->>'status')::int ORDER BY (r->>'seq')::int) AS statuses FROM public.mock_requests() AS r;
-- Without Retry-After, a 429's X-RateLimit-Reset (here seconds) paces the
-- retry: two seconds, where the first backoff would wait at most one.
SELECT public.mock_reset();
SELECT public.mock_config('{"script": [{"status": 429, "headers": {"X-RateLimit-Limit": "1", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2"}, "body": {"message": "Rate Limited"}}],
    "vendor": {"type": "braze", "api_key": "braze-key-1"}}');
INSERT INTO public.ve_events VALUES (9, 'Invited', 'user-9', '2026-01-13 08:00:00+00', '{}', 5);
SELECT * FROM public.sync_outcome('Track Event');
SELECT array_agg((r->>'status')::int ORDER BY (r->>'seq')::int) AS statuses,
       max((r->>'epoch')::float8) - min((r->>'epoch')::float8) >= 1.9 AS waited_for_the_reset
  FROM public.mock_requests() AS r;
-- Bad credentials: Braze's 401 message ends the run.
INSERT INTO public.ve_events VALUES (8, 'Invited', 'user-8', '2026-01-12 08:00:00+00', '{}', 5);
SELECT reverse_etl.alter_destination('ve_braze', '{"api_key": "wrong-key"}');
SELECT * FROM public.sync_outcome('Track Event');
SELECT reverse_etl.alter_destination('ve_braze', '{"api_key": "braze-key-1"}');
SELECT t->'request'->>'url' ~ '/users/track$' AS url, t->'request'->'headers'->>'Authorization' AS authorization,
       t->'request'->'body' AS body, t->'response'->'status' AS status
  FROM reverse_etl.send_test_record('Track Event', '2') AS t;

SELECT reverse_etl.drop_destination(d, cascade => true) FROM unnest(ARRAY['ve_mixpanel', 've_amplitude', 've_braze']) AS d;
SELECT reverse_etl.drop_model('ve_events');
DROP TABLE public.ve_events;
SELECT public.mock_reset();

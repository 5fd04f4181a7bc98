-- Klaviyo (issue 15): profiles upserted through bulk import jobs
-- (POST /api/profile-bulk-import-jobs answers 202 and a job), which a run
-- polls within job_wait and whose import errors it maps back onto the
-- records before it checkpoints them; events one request each
-- (POST /api/events). Every check reads what the vendor mock stored
-- (GET /__vendor/state) or received.
SET client_min_messages = warning;

CREATE TABLE public.vk_people (
    id          text PRIMARY KEY,
    email       text,
    first_name  text,
    plan        text
);
INSERT INTO public.vk_people VALUES
    ('u1', 'ann@example.com', 'Ann', 'pro'),
    ('u2', 'bob@example.com', 'Bob', NULL),
    ('u3', 'cy@example.com',  'Cy',  'team'),
    ('u4', 'not-an-email',    'Dee', 'free');
SELECT reverse_etl.create_model('vk_people', 'SELECT * FROM public.vk_people', 'id');

-- Import errors come one a page, so that following links.next is seen.
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "klaviyo", "api_key": "kl-key-1", "errors_page_size": 1,
                                       "reject": {"bob@example.com": "Profile is suppressed"}}}');
SELECT reverse_etl.create_destination('vk_klaviyo', 'klaviyo',
    jsonb_build_object('api_key', 'kl-key-1', 'endpoint', mock_url()), enabled => true);
SELECT action, name, sync_modes, default_sync_mode, max_batch_records, max_batch_bytes
  FROM reverse_etl.destination_actions WHERE type = 'klaviyo' ORDER BY action;
SELECT s.key, s.value->>'type' AS type, s.value->>'required' AS required, s.value->>'secret' AS secret,
       s.value->>'default' AS "default"
  FROM reverse_etl.destination_types AS t, jsonb_each(t.settings) AS s WHERE t.type = 'klaviyo' ORDER BY 1;

-- Profiles by email (the default identifier): other fields are properties;
-- nulls are left out (Klaviyo's import never clears a property).
SELECT reverse_etl.create_mapping('vk_people', 'vk_klaviyo', 'profile',
    '{"email": "email", "first_name": "first_name", "plan": "plan"}', sync_mode => 'mirror');
SELECT record_id, change, payload FROM reverse_etl.preview_mapping('Upsert Profile') ORDER BY record_id;
-- One job for the four profiles: the run polls it until it is complete and
-- reads its import errors (two pages): u2 (suppressed) and u4 (invalid
-- email) are rejected with Klaviyo's words, the others delivered.
SELECT * FROM public.sync_outcome('Upsert Profile');
SELECT record_id, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'Upsert Profile' ORDER BY 1;
SELECT p.key AS profile, p.value - 'email' AS attributes
  FROM jsonb_each(public.mock_vendor_state()->'profiles') AS p ORDER BY 1;
SELECT r->>'method' AS method, r->>'path' AS path,
       r->'headers'->>'authorization' AS authorization, r->'headers'->>'revision' AS revision,
       r->'headers'->>'content-type' AS content_type, r->'status' AS status
  FROM public.mock_requests() AS r WHERE r->>'path' LIKE '/api/%' ORDER BY (r->>'seq')::int;
SELECT jsonb_pretty((r->>'body')::jsonb) AS body
  FROM public.mock_requests() AS r WHERE r->>'method' = 'POST' AND r->>'path' LIKE '/api/%';

-- An update, a fixed email and a deletion: the upserts in one job, the
-- deletion (mirror) in another with the key only, which leaves Klaviyo's
-- profile as it is (suppress, unsubscribe and delete are not offered).
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
UPDATE public.vk_people SET plan = 'team' WHERE id = 'u1';
UPDATE public.vk_people SET email = 'dee@example.com' WHERE id = 'u4';
DELETE FROM public.vk_people WHERE id = 'u3';
SELECT record_id, change, payload FROM reverse_etl.preview_mapping('Upsert Profile') ORDER BY record_id;
SELECT * FROM public.sync_outcome('Upsert Profile');
SELECT r->>'method' AS method, r->>'path' AS path,
       jsonb_path_query_array(nullif(r->>'body', '')::jsonb, '$.data.attributes.profiles.data[*].attributes') AS profiles,
       r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq ORDER BY (r->>'seq')::int;
SELECT p.key AS profile, p.value->'properties'->>'plan' AS plan
  FROM jsonb_each(public.mock_vendor_state()->'profiles') AS p ORDER BY 1;
SELECT record_id, kind, error FROM reverse_etl.record_errors WHERE mapping = 'Upsert Profile' ORDER BY 1;

-- A job still running when job_wait ends: its records are neither delivered
-- nor failed (no record error), stay out of the checkpoint, and the next
-- run sends them again; never counted delivered unseen.
SELECT public.mock_config('{"vendor": {"type": "klaviyo", "api_key": "kl-key-1", "job_polls": -1}}');
SELECT reverse_etl.alter_destination('vk_klaviyo', '{"job_wait": "1 second"}');
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
UPDATE public.vk_people SET plan = 'enterprise' WHERE id = 'u1';
SELECT * FROM public.sync_outcome('Upsert Profile');
SELECT records_selected, records_succeeded, records_failed, requests_sent > 1 AS polled
  FROM reverse_etl.sync_runs WHERE mapping = 'Upsert Profile' ORDER BY run_id DESC LIMIT 1;
SELECT record_id, kind, error FROM reverse_etl.record_errors WHERE mapping = 'Upsert Profile' ORDER BY 1;
SELECT j.key AS job, j.value->'attributes'->>'status' AS status, j.value->'attributes'->'total_count' AS profiles,
       public.mock_vendor_state()->'profiles' AS imported
  FROM jsonb_each(public.mock_vendor_state()->'jobs') AS j;
SELECT count(*) FILTER (WHERE r->>'method' = 'POST') AS jobs_started,
       count(*) FILTER (WHERE r->>'method' = 'GET' AND r->>'path' NOT LIKE '%import-errors%') > 1 AS polled,
       count(*) FILTER (WHERE r->>'path' LIKE '%import-errors%') AS errors_read
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq;
SELECT record_id, change FROM reverse_etl.preview_mapping('Upsert Profile') ORDER BY record_id;
-- The next run, the job finishing: u1 and u2 go again and are delivered.
SELECT public.mock_config('{"vendor": {"type": "klaviyo", "api_key": "kl-key-1"}}');
SELECT reverse_etl.alter_destination('vk_klaviyo', '{"job_wait": "5 minutes"}');
SELECT * FROM public.sync_outcome('Upsert Profile');
SELECT public.mock_vendor_state()->'profiles'->'ann@example.com'->'properties'->>'plan' AS plan_at_klaviyo;
SELECT count(*) AS records_to_send FROM reverse_etl.preview_mapping('Upsert Profile');

-- A cancelled job fails its records (kind failed: sent again next run).
SELECT public.mock_config('{"vendor": {"type": "klaviyo", "api_key": "kl-key-1", "cancel_jobs": true}}');
UPDATE public.vk_people SET plan = 'free' WHERE id = 'u2';
SELECT * FROM public.sync_outcome('Upsert Profile');
SELECT record_id, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'Upsert Profile' ORDER BY 1;

-- A 429 is waited out (Retry-After honoured), then the job runs.
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "klaviyo", "api_key": "kl-key-1"},
    "script": [{"status": 429, "headers": {"Retry-After": "1"},
                "body": {"errors": [{"status": 429, "code": "throttled", "title": "Request was throttled."}]}}]}');
SELECT * FROM public.sync_outcome('Upsert Profile');
SELECT array_agg((r->>'status')::int ORDER BY (r->>'seq')::int) AS statuses
  FROM public.mock_requests() AS r WHERE r->>'method' = 'POST';
SELECT record_id, kind, error FROM reverse_etl.record_errors WHERE mapping = 'Upsert Profile' ORDER BY 1;

-- send_test_record shows the request (the key masked) and Klaviyo's 202
-- with the job; it does not wait for the job.
SELECT t->'request'->>'method' AS method, t->'request'->>'url' ~ '/api/profile-bulk-import-jobs$' AS url,
       t->'request'->'headers'->>'Authorization' AS authorization,
       t->'request'->'body' AS body, t->'response'->'status' AS status,
       t->'response'->'body'->'data'->'attributes'->>'status' AS job_status
  FROM reverse_etl.send_test_record('Upsert Profile', 'u1') AS t;

-- Bad credentials: Klaviyo's 401 ends the run with its message.
UPDATE public.vk_people SET plan = 'pro' WHERE id = 'u2';
SELECT reverse_etl.alter_destination('vk_klaviyo', '{"api_key": "wrong"}');
SELECT * FROM public.sync_outcome('Upsert Profile');
SELECT reverse_etl.alter_destination('vk_klaviyo', '{"api_key": "kl-key-1"}');
-- A key revoked while the run polls its job: the 401 to the poll ends the
-- run the same way; the job's records are not delivered.
SELECT public.mock_config('{"vendor": {"type": "klaviyo", "api_key": "kl-key-1", "revoke_after": 1}}');
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('Upsert Profile');
SELECT r->>'method' AS method, r->>'path' AS path, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq ORDER BY (r->>'seq')::int;
SELECT record_id, kind, http_status FROM reverse_etl.record_errors WHERE mapping = 'Upsert Profile' ORDER BY 1;
SELECT public.mock_config('{"vendor": {"type": "klaviyo", "api_key": "kl-key-1"}}');

-- Error paths.
-- job_wait must be an interval, from 0 seconds to 1 hour.
SELECT reverse_etl.alter_destination('vk_klaviyo', '{"job_wait": "soon"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('vk_klaviyo', '{"job_wait": "2 hours"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('vk_klaviyo', '{"job_wait": "-1 second"}');
\echo :LAST_ERROR_SQLSTATE
-- 0 seconds: the run does not wait at all; the job's records go next run.
SELECT reverse_etl.alter_destination('vk_klaviyo', '{"job_wait": "0 seconds"}');
UPDATE public.vk_people SET plan = 'team' WHERE id = 'u2';
SELECT * FROM public.sync_outcome('Upsert Profile');
SELECT reverse_etl.alter_destination('vk_klaviyo', '{"job_wait": null}');
SELECT * FROM public.sync_outcome('Upsert Profile');
-- Modes the actions do not offer (no delete for profiles; events add only).
SELECT reverse_etl.create_mapping('vk_people', 'vk_klaviyo', 'profile', '{"email": "email"}',
    name => 'vk bad', sync_mode => 'delete');
\echo :LAST_ERROR_SQLSTATE
-- An identifier that is not one, and mirror without the identifier mapped.
SELECT reverse_etl.create_mapping('vk_people', 'vk_klaviyo', 'profile', '{"email": "email"}',
    name => 'vk bad', action_settings => '{"identifier": "phone"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('vk_people', 'vk_klaviyo', 'profile', '{"email": "email"}',
    name => 'vk bad', sync_mode => 'mirror', action_settings => '{"identifier": "external_id"}');
\echo :LAST_ERROR_SQLSTATE
-- No key at all; no api_key.
SELECT reverse_etl.create_mapping('vk_people', 'vk_klaviyo', 'profile', '{"first_name": "first_name"}',
    name => 'vk bad');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('vk_nokey', 'klaviyo', '{}');
\echo :LAST_ERROR_SQLSTATE

-- Events: one request each; the record's message id is the event's
-- unique_id (Klaviyo counts an event sent twice once).
CREATE TABLE public.vk_orders (id int PRIMARY KEY, email text, total numeric, sku text, at timestamptz);
INSERT INTO public.vk_orders VALUES (1, 'ann@example.com', 49.00, 'A-1', '2026-01-08 12:00:00+00'),
                                    (2, 'bad-address', 5.00, 'B-2', '2026-01-08 13:00:00+00');
SELECT reverse_etl.create_model('vk_orders', 'SELECT *, ''Placed Order''::text AS metric, jsonb_build_object(''sku'', sku) AS props FROM public.vk_orders', 'id');
SELECT reverse_etl.create_mapping('vk_orders', 'vk_klaviyo', 'event',
    '{"metric": "metric", "email": "email", "value": "total", "time": "at", "properties": "props"}');
SELECT reverse_etl.create_mapping('vk_orders', 'vk_klaviyo', 'event', '{"email": "email"}', name => 'vk bad');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('vk_orders', 'vk_klaviyo', 'event', '{"metric": "metric", "email": "email"}',
    name => 'vk bad', sync_mode => 'upsert');
\echo :LAST_ERROR_SQLSTATE
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "klaviyo", "api_key": "kl-key-1"}}');
SELECT * FROM public.sync_outcome('Track Event');
SELECT record_id, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'Track Event';
SELECT e->>'metric' AS metric, e->>'profile' AS profile, e->'properties' AS properties, e->'value' AS value,
       e->>'time' AS time, e->>'unique_id' ~ '^retl-' AS unique_id_is_message_id
  FROM jsonb_array_elements(public.mock_vendor_state()->'events') AS e;
SELECT r->>'method' AS method, r->>'path' AS path, r->>'status' AS status,
       r->'headers'->>'authorization' AS authorization
  FROM public.mock_requests() AS r WHERE r->>'path' LIKE '/api/%' ORDER BY status;

SELECT reverse_etl.drop_destination('vk_klaviyo', cascade => true);
SELECT reverse_etl.drop_model(m) FROM unnest(ARRAY['vk_people', 'vk_orders']) AS m;
DROP TABLE public.vk_people, public.vk_orders;

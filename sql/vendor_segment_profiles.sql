-- Segment Profiles (issue 15): identify and group calls into a Profile
-- space, through Segment's Tracking API with the space's own source write
-- key, against the mock of that API (test/mocks/segment_profiles.py). Every
-- event says integrations.All = false so the space does not forward it.
SET client_min_messages = warning;

SELECT action, name, sync_modes, default_sync_mode, max_batch_records, max_batch_bytes, nulls_allowed
  FROM reverse_etl.destination_actions WHERE type = 'segment_profiles' ORDER BY action;
SELECT s.key AS setting, s.value->>'required' AS required, s.value->>'secret' AS secret,
       s.value->'default' AS "default"
  FROM reverse_etl.destination_types, jsonb_each(settings) AS s WHERE type = 'segment_profiles' ORDER BY 1;

CREATE TABLE public.sp_users (id text PRIMARY KEY, account text, email text, plan text, account_name text);
INSERT INTO public.sp_users VALUES
    ('u1', 'a1', 'ann@example.com', 'pro', 'Acme'),
    ('u2', 'a1', 'bob@example.com', 'free', 'Acme'),
    ('u3', 'a2', 'cy@example.com', 'team', 'Globex');
SELECT reverse_etl.create_model('sp_users', 'SELECT * FROM public.sp_users', 'id');

SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "segment_profiles", "write_key": "space-wk"}}');
-- space_id is required like the write key.
SELECT reverse_etl.create_destination('sp', 'segment_profiles',
    jsonb_build_object('write_key', 'space-wk', 'endpoint', mock_url()));
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('sp', 'segment_profiles',
    jsonb_build_object('write_key', 'space-wk', 'space_id', 'spa_test1', 'endpoint', mock_url()), enabled => true);
-- The write key is never shown; the space id is.
SELECT settings - 'endpoint' AS settings FROM reverse_etl.destinations WHERE name = 'sp';

SELECT reverse_etl.create_mapping('sp_users', 'sp', 'identify',
    '{"userId": "id", "groupId": "account", "traits": {"object": {"email": "email", "plan": "plan"}}}');
SELECT reverse_etl.create_mapping('sp_users', 'sp', 'group',
    '{"userId": "id", "groupId": "account", "traits": {"object": {"name": "account_name"}}}');
-- The exact events (messageId aside: it depends on the mapping's id).
SELECT record_id, change, payload - 'messageId' AS payload, length(payload->>'messageId') > 0 AS has_message_id
  FROM reverse_etl.preview_mapping('Identify User') ORDER BY record_id;

-- First sync: one /v1/batch request a mapping, Basic auth with the write key.
SELECT * FROM public.sync_outcome('Identify User');
SELECT * FROM public.sync_outcome('Identify Group');
SELECT r->>'method' AS method, r->>'path' AS path, r->'headers'->>'authorization' AS authorization,
       jsonb_array_length((r->>'body')::jsonb->'batch') AS events, r->'status' AS status
  FROM public.mock_requests() AS r ORDER BY (r->>'seq')::int;
SELECT u.key AS user_id, u.value AS profile
  FROM jsonb_each(public.mock_vendor_state()->'users') AS u ORDER BY 1;
SELECT a.key AS group_id, a.value AS account
  FROM jsonb_each(public.mock_vendor_state()->'accounts') AS a ORDER BY 1;

-- An update sends one identify call with the new traits.
UPDATE public.sp_users SET plan = 'enterprise' WHERE id = 'u1';
SELECT * FROM public.sync_outcome('Identify User');
SELECT public.mock_vendor_state()->'users'->'u1'->'traits' AS u1_traits;

-- Segment Profiles has no delete call: a mapping in the "deleted" mode sends
-- an identify call for the removed record (here flagging it in its traits).
SELECT reverse_etl.create_mapping('sp_users', 'sp', 'identify',
    '{"userId": "id", "traits": {"object": {"removed": {"value": true}}}}', sync_mode => 'deleted', name => 'sp removals');
SELECT * FROM public.sync_outcome('sp removals');
DELETE FROM public.sp_users WHERE id = 'u3';
SELECT * FROM public.sync_outcome('sp removals');
SELECT public.mock_vendor_state()->'users'->'u3'->'traits' AS u3_traits;

-- A 429 with Retry-After is waited out, then the batch goes through.
UPDATE public.sp_users SET plan = 'pro' WHERE id = 'u1';
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "segment_profiles", "write_key": "space-wk"},
    "script": [{"status": 429, "headers": {"Retry-After": "1", "Content-Type": "application/json"},
                "body": {"success": false, "code": "rate_limited", "message": "Too Many Requests"}}]}');
SELECT * FROM public.sync_outcome('Identify User');
SELECT array_agg((r->>'status')::int ORDER BY (r->>'seq')::int) AS statuses,
       max((r->>'epoch')::float8) - min((r->>'epoch')::float8) >= 0.9 AS waited
  FROM public.mock_requests() AS r WHERE r->>'method' = 'POST';

-- Refused credentials (a 401): the run fails with the answer's message and
-- the change is sent by a later run.
UPDATE public.sp_users SET plan = 'free' WHERE id = 'u1';
SELECT public.mock_config('{"vendor": {"type": "segment_profiles", "unauthorized": true}}');
SELECT * FROM public.sync_outcome('Identify User');
SELECT public.mock_config('{"vendor": {"type": "segment_profiles", "write_key": "space-wk"}}');
SELECT * FROM public.sync_outcome('Identify User');
SELECT public.mock_vendor_state()->'users'->'u1'->'traits' AS u1_traits;

-- A write key Segment does not know is not refused: its edge answers 200
-- {"success": true} and drops the events (Segment checks keys later). The run
-- succeeds and nothing reaches the space; only the key itself can be checked.
UPDATE public.sp_users SET plan = 'pro' WHERE id = 'u1';
SELECT reverse_etl.alter_destination('sp', '{"write_key": "typo-wk"}');
SELECT * FROM public.sync_outcome('Identify User');
SELECT public.mock_vendor_state()->'dropped' AS dropped, public.mock_vendor_state()->'users'->'u1'->'traits'->'plan' AS plan;
SELECT reverse_etl.alter_destination('sp', '{"write_key": "space-wk"}');

-- A 400 (an event Segment refuses) rejects the records of that request.
UPDATE public.sp_users SET plan = 'team' WHERE id = 'u2';
SELECT public.mock_config('{"vendor": {"type": "segment_profiles", "write_key": "space-wk", "reject": {"u2": "event refused"}}}');
SELECT * FROM public.sync_outcome('Identify User');
SELECT record_id, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'Identify User';

-- send_test_record shows the exact request, the write key masked.
SELECT public.mock_config('{"vendor": {"type": "segment_profiles", "write_key": "space-wk"}}');
SELECT t->'request'->>'method' AS method, t->'request'->>'url' ~ '/v1/batch$' AS url,
       t->'request'->'headers'->>'Authorization' AS authorization,
       (t->'request'->'body'->'batch'->0) - 'messageId' AS event,
       t->'response'->'status' AS status, t->'response'->'body' AS answer
  FROM reverse_etl.send_test_record('Identify Group', 'u1') AS t;

SELECT reverse_etl.drop_destination('sp', "cascade" => true);
SELECT reverse_etl.drop_model('sp_users');
DROP TABLE public.sp_users;

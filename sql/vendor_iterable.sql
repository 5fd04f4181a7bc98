-- Iterable (issue 15): users upserted through /api/users/bulkUpdate and
-- deleted one request each (by email, or by userId when the mapping's
-- identifier says so), events through /api/events/trackBulk. Iterable
-- answers 200 even when some fail: its failedUpdates lists are read back
-- onto the records (key_lists). Every check reads what the vendor mock
-- stored (GET /__vendor/state) or received.
SET client_min_messages = warning;

CREATE TABLE public.vi_users (
    id          text PRIMARY KEY,
    email       text,
    first_name  text,
    plan        text
);
INSERT INTO public.vi_users VALUES
    ('u1', 'ann@example.com', 'Ann', 'pro'),
    ('u2', 'bob@example.com', 'Bob', 'free'),
    ('u3', 'cy@example.com',  'Cy',  'team'),
    ('u4', 'not-an-email',    'Dee', 'free');
SELECT reverse_etl.create_model('vi_users', 'SELECT * FROM public.vi_users', 'id');

SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "iterable", "api_key": "it-key-1", "reject": {"bob@example.com": "forgottenEmails"}}}');
SELECT reverse_etl.create_destination('vi_iterable', 'iterable',
    jsonb_build_object('api_key', 'it-key-1', 'endpoint', mock_url()), enabled => true);
SELECT action, name, sync_modes, default_sync_mode, max_batch_records, max_batch_bytes
  FROM reverse_etl.destination_actions WHERE type = 'iterable' ORDER BY action;

-- Users by email (the default identifier): the other fields are data fields.
SELECT reverse_etl.create_mapping('vi_users', 'vi_iterable', 'user',
    '{"email": "email", "first_name": "first_name", "plan": "plan"}', sync_mode => 'mirror');
SELECT record_id, change, payload FROM reverse_etl.preview_mapping('Upsert User') ORDER BY record_id;
-- One request for the four users; Iterable lists u2 (forgotten) and u4
-- (invalid email) in failedUpdates: only they are rejected, with the list's name.
SELECT * FROM public.sync_outcome('Upsert User');
SELECT record_id, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'Upsert User' ORDER BY 1;
SELECT u.key AS email, u.value->'dataFields' AS data_fields
  FROM jsonb_each(public.mock_vendor_state()->'users') AS u ORDER BY 1;
SELECT r->>'method' AS method, r->>'path' AS path, r->'headers'->>'api-key' AS api_key,
       (r->>'body')::jsonb->'users' AS users
  FROM public.mock_requests() AS r WHERE r->>'path' LIKE '/api/%' ORDER BY (r->>'seq')::int;

-- An update, a fixed email and a deletion: the first two in bulk (u2, still
-- forgotten, is rejected again), the deletion at DELETE /api/users/{email},
-- as preview_mapping shows first.
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
UPDATE public.vi_users SET plan = 'team' WHERE id = 'u1';
UPDATE public.vi_users SET email = 'dee@example.com' WHERE id = 'u4';
DELETE FROM public.vi_users WHERE id = 'u3';
SELECT record_id, change, payload FROM reverse_etl.preview_mapping('Upsert User') ORDER BY record_id;
SELECT * FROM public.sync_outcome('Upsert User');
SELECT r->>'method' AS method, r->>'path' AS path, r->>'body' AS body, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq ORDER BY (r->>'seq')::int;
SELECT u.key AS email, u.value->'dataFields'->>'plan' AS plan
  FROM jsonb_each(public.mock_vendor_state()->'users') AS u ORDER BY 1;
SELECT record_id, kind, error FROM reverse_etl.record_errors WHERE mapping = 'Upsert User' ORDER BY 1;

-- Deleting a user Iterable does not have is an error there: rejected.
DELETE FROM public.vi_users WHERE id = 'u4';
SELECT public.mock_config('{"vendor": {"type": "iterable", "api_key": "it-key-1"}}');
SELECT * FROM public.sync_outcome('Upsert User');
SELECT record_id, kind, error FROM reverse_etl.record_errors WHERE mapping = 'Upsert User' ORDER BY 1;

-- Users by userId: deletions go to /api/users/byUserId/{userId}.
SELECT reverse_etl.create_mapping('vi_users', 'vi_iterable', 'user',
    '{"userId": "id", "email": "email"}', sync_mode => 'mirror', name => 'vi by id',
    action_settings => '{"identifier": "userId"}');
SELECT * FROM public.sync_outcome('vi by id');
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
DELETE FROM public.vi_users WHERE id = 'u2';
SELECT * FROM public.sync_outcome('vi by id');
SELECT r->>'method' AS method, r->>'path' AS path, r->>'body' AS body, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq ORDER BY (r->>'seq')::int;
-- An identifier that is not one, and a mode that deletes without the key mapped.
SELECT reverse_etl.create_mapping('vi_users', 'vi_iterable', 'user', '{"email": "email"}',
    name => 'vi bad', action_settings => '{"identifier": "phone"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('vi_users', 'vi_iterable', 'user', '{"email": "email"}',
    name => 'vi bad', sync_mode => 'mirror', action_settings => '{"identifier": "userId"}');
\echo :LAST_ERROR_SQLSTATE

-- Events: the record's message id is the event's id (Iterable updates an
-- event sent again), the time in Unix seconds.
CREATE TABLE public.vi_events (id int PRIMARY KEY, email text, name text, at timestamptz, data jsonb);
INSERT INTO public.vi_events VALUES (1, 'ann@example.com', 'purchase', '2026-01-08 12:00:00+00', '{"total": 49.00}'),
                                    (2, 'bad-address', 'purchase', '2026-01-08 13:00:00+00', '{}');
SELECT reverse_etl.create_model('vi_events', 'SELECT * FROM public.vi_events', 'id');
SELECT reverse_etl.create_mapping('vi_events', 'vi_iterable', 'event',
    '{"email": "email", "eventName": "name", "createdAt": "at", "dataFields": "data"}');
SELECT * FROM public.sync_outcome('Track Event');
SELECT record_id, kind, error FROM reverse_etl.record_errors WHERE mapping = 'Track Event';
SELECT e->>'eventName' AS event_name, e->>'id' ~ '^retl-' AS id_is_message_id, e->'createdAt' AS created_at,
       e->'dataFields' AS data_fields
  FROM jsonb_array_elements(public.mock_vendor_state()->'users'->'ann@example.com'->'events') AS e;
-- send_test_record shows the exact request, the key masked.
SELECT t->'request'->>'method' AS method, t->'request'->>'url' ~ '/api/events/trackBulk$' AS url,
       t->'request'->'headers'->>'Api-Key' AS api_key,
       (t->'request'->'body')::jsonb #- '{events,0,id}' AS body, t->'response'->'status' AS status
  FROM reverse_etl.send_test_record('Track Event', '1') AS t;

-- A 429 is waited out (Retry-After honoured).
INSERT INTO public.vi_events VALUES (3, 'ann@example.com', 'refund', '2026-01-09 12:00:00+00', '{}');
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "iterable", "api_key": "it-key-1"},
    "script": [{"status": 429, "headers": {"Retry-After": "1"}, "body": {"msg": "Rate limit exceeded", "code": "RateLimitExceeded", "params": null}}]}');
SELECT * FROM public.sync_outcome('Track Event');
SELECT array_agg((r->>'status')::int ORDER BY (r->>'seq')::int) AS statuses FROM public.mock_requests() AS r;

-- Bad credentials: Iterable's 401 ends the run with its message.
INSERT INTO public.vi_events VALUES (4, 'ann@example.com', 'visit', '2026-01-10 12:00:00+00', '{}');
SELECT reverse_etl.alter_destination('vi_iterable', '{"api_key": "wrong"}');
SELECT * FROM public.sync_outcome('Track Event');

-- Suggested mappings reach Iterable's field names.
CREATE TABLE public.vi_crm (id text PRIMARY KEY, email_address text, user_id text, event_name text,
                            created_at timestamptz, plan text);
SELECT reverse_etl.create_model('vi_crm', 'SELECT * FROM public.vi_crm', 'id');
SELECT * FROM reverse_etl.suggest_mappings('vi_crm', 'vi_iterable', 'user');
SELECT * FROM reverse_etl.suggest_mappings('vi_crm', 'vi_iterable', 'event');

SELECT reverse_etl.drop_destination('vi_iterable', cascade => true);
SELECT reverse_etl.drop_model(m) FROM unnest(ARRAY['vi_users', 'vi_events', 'vi_crm']) AS m;
DROP TABLE public.vi_users, public.vi_events, public.vi_crm;

-- Profile destinations with destination operations (issue 14): Braze
-- user_attributes and Customer.io person in mirror mode (added and updated
-- records as upserts, deleted ones as deletes through the vendor's delete
-- API), Customer.io events. Every check reads what the vendor mock stored
-- (GET /__vendor/state) or received.
SET client_min_messages = warning;

CREATE FUNCTION pg_temp.vp_sync(mapping text)
RETURNS TABLE(status text, extracted bigint, succeeded bigint, failed bigint, error text)
LANGUAGE sql AS $$
    SELECT status, records_extracted, records_succeeded, records_failed, error FROM reverse_etl.sync(mapping)
$$;

CREATE FUNCTION pg_temp.vp_state() RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    state jsonb;
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS vp_state_line (line text);
    TRUNCATE vp_state_line;
    EXECUTE format('COPY vp_state_line FROM PROGRAM %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')',
                   format('curl -sf %s', public.mock_url('/__vendor/state')));
    SELECT string_agg(line, E'\n')::jsonb INTO state FROM vp_state_line;
    RETURN state;
END $$;

CREATE TABLE public.vp_users (
    id          text PRIMARY KEY,
    email       text,
    first_name  text,
    plan        text,
    signed_up   timestamptz
);
INSERT INTO public.vp_users VALUES
    ('u1', 'ann@example.com', 'Ann', 'pro',  '2026-01-05 10:00:00+00'),
    ('u2', 'bob@example.com', 'Bob', 'free', '2026-01-06 10:00:00+00'),
    ('u3', 'cy@example.com',  'Cy',  'team', '2026-01-07 10:00:00+00');
SELECT reverse_etl.create_model('vp_users', 'SELECT * FROM public.vp_users', 'id');

------------------------------------------------------------------------------
-- Braze user_attributes
------------------------------------------------------------------------------
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "braze", "api_key": "braze-key-2"}}');
SELECT reverse_etl.create_destination('vp_braze', 'braze',
    jsonb_build_object('api_key', 'braze-key-2', 'endpoint', mock_url()), enabled => true);
SELECT action, sync_modes, default_sync_mode FROM reverse_etl.destination_actions
 WHERE type = 'braze' ORDER BY action;
-- A deletion finds the Braze user by the external_id the record was sent
-- with, but a deleted record carries only the model's identifier: under a
-- mode that deletes, external_id must be that column.
SELECT reverse_etl.create_mapping('vp_users', 'vp_braze', 'user_attributes',
    '{"external_id": "email", "first_name": "first_name"}', sync_mode => 'mirror');
\echo :LAST_ERROR_SQLSTATE
-- Without deletes any column will do.
SELECT reverse_etl.create_mapping('vp_users', 'vp_braze', 'user_attributes',
    '{"external_id": "email", "first_name": "first_name"}', name => 'vp by email');
SELECT reverse_etl.alter_mapping('vp by email', sync_mode => 'mirror');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.drop_mapping('vp by email');
-- Any field name is an attribute (free fields): plan is a custom attribute.
SELECT reverse_etl.create_mapping('vp_users', 'vp_braze', 'user_attributes',
    '{"external_id": "id", "email": "email", "first_name": "first_name", "plan": "plan"}', sync_mode => 'mirror');
SELECT * FROM pg_temp.vp_sync('Update User Profile');
SELECT u.key AS external_id, u.value->'attributes' AS attributes
  FROM jsonb_each(pg_temp.vp_state()->'users') AS u ORDER BY 1;
-- An update and a deletion: one upsert to /users/track, one delete to
-- /users/delete with the external_id, as preview_mapping shows first.
UPDATE public.vp_users SET plan = 'team' WHERE id = 'u2';
DELETE FROM public.vp_users WHERE id = 'u3';
SELECT record_id, change, payload FROM reverse_etl.preview_mapping('Update User Profile') ORDER BY record_id;
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM pg_temp.vp_sync('Update User Profile');
SELECT r->>'path' AS path, (r->>'body')::jsonb AS body, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq ORDER BY (r->>'seq')::int;
SELECT u.key AS external_id, u.value->'attributes'->>'plan' AS plan
  FROM jsonb_each(pg_temp.vp_state()->'users') AS u ORDER BY 1;
-- The deletion is in the checkpoint: nothing more to send.
SELECT * FROM pg_temp.vp_sync('Update User Profile');
-- A user Braze refuses is rejected alone (201 with errors by index).
SELECT public.mock_config('{"vendor": {"type": "braze", "api_key": "braze-key-2", "reject": {"u2": "invalid attribute"}}}');
UPDATE public.vp_users SET plan = 'enterprise';
SELECT * FROM pg_temp.vp_sync('Update User Profile');
SELECT record_id, change, kind, error FROM reverse_etl.record_errors WHERE mapping = 'Update User Profile';

------------------------------------------------------------------------------
-- Customer.io person and event
------------------------------------------------------------------------------
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "customerio", "site_id": "site-1", "api_key": "cio-key-1", "reject": {"u2": "attribute too long"}}}');
SELECT reverse_etl.create_destination('vp_cio', 'customerio',
    jsonb_build_object('site_id', 'site-1', 'api_key', 'cio-key-1', 'endpoint', mock_url()), enabled => true);
SELECT reverse_etl.create_mapping('vp_users', 'vp_cio', 'person',
    '{"id": "id", "email": "email", "plan": "plan", "created_at": "signed_up"}', sync_mode => 'mirror');
SELECT record_id, payload FROM reverse_etl.preview_mapping('Create or Update Person') ORDER BY record_id;
-- u2 is refused (207 with its batch_index): rejected alone.
SELECT * FROM pg_temp.vp_sync('Create or Update Person');
SELECT record_id, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'Create or Update Person';
SELECT p.key AS id, p.value->'attributes' AS attributes
  FROM jsonb_each(pg_temp.vp_state()->'people') AS p ORDER BY 1;
-- A deleted person is deleted at Customer.io (u2, still refused, is
-- rejected again).
DELETE FROM public.vp_users WHERE id = 'u1';
SELECT * FROM pg_temp.vp_sync('Create or Update Person');
SELECT pg_temp.vp_state()->'people' ? 'u1' AS u1_still_there;
-- Events, with the time in Unix seconds.
CREATE TABLE public.vp_events (id int PRIMARY KEY, user_id text, name text, at timestamptz, data jsonb);
INSERT INTO public.vp_events VALUES (1, 'u2', 'purchase', '2026-01-08 12:00:00+00', '{"total": 49.00}');
SELECT reverse_etl.create_model('vp_events', 'SELECT * FROM public.vp_events', 'id');
SELECT public.mock_config('{"vendor": {"type": "customerio", "site_id": "site-1", "api_key": "cio-key-1"}}');
SELECT reverse_etl.create_mapping('vp_events', 'vp_cio', 'event',
    '{"person_id": "user_id", "name": "name", "timestamp": "at", "data": "data"}');
SELECT * FROM pg_temp.vp_sync('Track Event');
SELECT pg_temp.vp_state()->'people'->'u2'->'events' AS events;
-- Bad credentials: Customer.io's 401 ends the run with its message.
INSERT INTO public.vp_events VALUES (2, 'u2', 'refund', '2026-01-09 12:00:00+00', '{}');
SELECT reverse_etl.alter_destination('vp_cio', '{"api_key": "wrong"}');
SELECT * FROM pg_temp.vp_sync('Track Event');
-- A 429 is waited out.
SELECT reverse_etl.alter_destination('vp_cio', '{"api_key": "cio-key-1"}');
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "customerio", "site_id": "site-1", "api_key": "cio-key-1"},
    "script": [{"status": 429, "headers": {"Retry-After": "1"}, "body": {"meta": {"error": "Too Many Requests"}}}]}');
SELECT * FROM pg_temp.vp_sync('Track Event');
SELECT array_agg((r->>'status')::int ORDER BY (r->>'seq')::int) AS statuses FROM public.mock_requests() AS r;
SELECT t->'request'->>'url' ~ '/api/v2/batch$' AS url, t->'request'->'headers'->>'Authorization' AS authorization,
       t->'request'->'body' AS body, t->'response'->'status' AS status
  FROM reverse_etl.send_test_record('Track Event', '1') AS t;

-- Suggested mappings reach the vendors' field names through synonyms.
CREATE TABLE public.vp_crm (id text PRIMARY KEY, email_address text, given_name text, family_name text,
                            transaction_amount numeric, currency_code text, purchased_at timestamptz, sku text);
SELECT reverse_etl.create_model('vp_crm', 'SELECT * FROM public.vp_crm', 'id');
SELECT * FROM reverse_etl.suggest_mappings('vp_crm', 'vp_braze', 'user_attributes');
SELECT * FROM reverse_etl.suggest_mappings('vp_crm', 'vp_braze', 'track_purchase');
SELECT * FROM reverse_etl.suggest_mappings('vp_crm', 'vp_cio', 'person');

SELECT reverse_etl.drop_destination(d, cascade => true) FROM unnest(ARRAY['vp_braze', 'vp_cio']) AS d;
SELECT reverse_etl.drop_model(m) FROM unnest(ARRAY['vp_users', 'vp_events', 'vp_crm']) AS m;
DROP TABLE public.vp_users, public.vp_events, public.vp_crm;
SELECT public.mock_reset();

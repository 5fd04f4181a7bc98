-- Profile destinations with destination operations (issue 14): Braze
-- user_attributes and Customer.io person in mirror mode (added and updated
-- records as upserts, deleted ones as deletes through the vendor's delete
-- API), Customer.io events. Every check reads what the vendor mock stored
-- (GET /__vendor/state) or received.
SET client_min_messages = warning;

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
-- A deletion finds the Braze user by the external_id the record was last
-- sent with, which the checkpoint keeps (sql/destination_keys.sql): under a
-- mode that deletes, external_id must be mapped to a whole column.
SELECT reverse_etl.create_mapping('vp_users', 'vp_braze', 'user_attributes',
    '{"external_id": {"template": "user-{{id}}"}, "first_name": "first_name"}', sync_mode => 'mirror');
\echo :LAST_ERROR_SQLSTATE
-- Without deletes any spec will do.
SELECT reverse_etl.create_mapping('vp_users', 'vp_braze', 'user_attributes',
    '{"external_id": {"template": "user-{{id}}"}, "first_name": "first_name"}', name => 'vp by template');
SELECT reverse_etl.alter_mapping('vp by template', sync_mode => 'mirror');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.drop_mapping('vp by template');
-- Any field name is an attribute (free fields): plan is a custom attribute.
SELECT reverse_etl.create_mapping('vp_users', 'vp_braze', 'user_attributes',
    '{"external_id": "id", "email": "email", "first_name": "first_name", "plan": "plan"}', sync_mode => 'mirror');
SELECT * FROM public.sync_outcome('Update User Profile');
SELECT u.key AS external_id, u.value->'attributes' AS attributes
  FROM jsonb_each(public.mock_vendor_state()->'users') AS u ORDER BY 1;
-- An update and a deletion: one upsert to /users/track, one delete to
-- /users/delete with the external_id, as preview_mapping shows first.
UPDATE public.vp_users SET plan = 'team' WHERE id = 'u2';
DELETE FROM public.vp_users WHERE id = 'u3';
SELECT record_id, change, payload FROM reverse_etl.preview_mapping('Update User Profile') ORDER BY record_id;
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('Update User Profile');
SELECT r->>'path' AS path, (r->>'body')::jsonb AS body, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq ORDER BY (r->>'seq')::int;
SELECT u.key AS external_id, u.value->'attributes'->>'plan' AS plan
  FROM jsonb_each(public.mock_vendor_state()->'users') AS u ORDER BY 1;
-- The deletion is in the checkpoint: nothing more to send.
SELECT * FROM public.sync_outcome('Update User Profile');
-- A user Braze refuses is rejected alone (201 with errors by index).
SELECT public.mock_config('{"vendor": {"type": "braze", "api_key": "braze-key-2", "reject": {"u2": "invalid attribute"}}}');
UPDATE public.vp_users SET plan = 'enterprise';
SELECT * FROM public.sync_outcome('Update User Profile');
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
SELECT * FROM public.sync_outcome('Create or Update Person');
SELECT record_id, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'Create or Update Person';
SELECT p.key AS id, p.value->'attributes' AS attributes
  FROM jsonb_each(public.mock_vendor_state()->'people') AS p ORDER BY 1;
-- A deleted person is deleted at Customer.io (u2, still refused, is
-- rejected again).
DELETE FROM public.vp_users WHERE id = 'u1';
SELECT * FROM public.sync_outcome('Create or Update Person');
SELECT public.mock_vendor_state()->'people' ? 'u1' AS u1_still_there;
-- Events, with the time in Unix seconds.
CREATE TABLE public.vp_events (id int PRIMARY KEY, user_id text, name text, at timestamptz, data jsonb);
INSERT INTO public.vp_events VALUES (1, 'u2', 'purchase', '2026-01-08 12:00:00+00', '{"total": 49.00}');
SELECT reverse_etl.create_model('vp_events', 'SELECT * FROM public.vp_events', 'id');
SELECT public.mock_config('{"vendor": {"type": "customerio", "site_id": "site-1", "api_key": "cio-key-1"}}');
SELECT reverse_etl.create_mapping('vp_events', 'vp_cio', 'event',
    '{"person_id": "user_id", "name": "name", "timestamp": "at", "data": "data"}');
SELECT * FROM public.sync_outcome('Track Event');
SELECT public.mock_vendor_state()->'people'->'u2'->'events' AS events;
-- Bad credentials: Customer.io's 401 ends the run with its message.
INSERT INTO public.vp_events VALUES (2, 'u2', 'refund', '2026-01-09 12:00:00+00', '{}');
SELECT reverse_etl.alter_destination('vp_cio', '{"api_key": "wrong"}');
SELECT * FROM public.sync_outcome('Track Event');
-- A 429 is waited out.
SELECT reverse_etl.alter_destination('vp_cio', '{"api_key": "cio-key-1"}');
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "customerio", "site_id": "site-1", "api_key": "cio-key-1"},
    "script": [{"status": 429, "headers": {"Retry-After": "1"}, "body": {"meta": {"error": "Too Many Requests"}}}]}');
SELECT * FROM public.sync_outcome('Track Event');
SELECT array_agg((r->>'status')::int ORDER BY (r->>'seq')::int) AS statuses FROM public.mock_requests() AS r;
SELECT t->'request'->>'url' ~ '/api/v2/batch$' AS url, t->'request'->'headers'->>'Authorization' AS authorization,
       t->'request'->'body' AS body, t->'response'->'status' AS status
  FROM reverse_etl.send_test_record('Track Event', '1') AS t;

------------------------------------------------------------------------------
-- Mixpanel user and group profiles
------------------------------------------------------------------------------
CREATE TABLE public.vp_people (id text PRIMARY KEY, email text, plan text, company text);
INSERT INTO public.vp_people VALUES ('p1', 'p1@example.com', 'pro', 'acme'), ('p2', 'p2@example.com', 'free', 'acme'),
                                    ('p3', 'p3@example.com', 'team', 'globex');
SELECT reverse_etl.create_model('vp_people', 'SELECT * FROM public.vp_people', 'id');
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "mixpanel", "project_token": "mp-token-2", "reject": {"p2": "$set, invalid property value"}}}');
SELECT reverse_etl.create_destination('vp_mixpanel', 'mixpanel',
    jsonb_build_object('project_token', 'mp-token-2', 'endpoint', mock_url()), enabled => true);
SELECT reverse_etl.create_mapping('vp_people', 'vp_mixpanel', 'user_profile',
    '{"distinct_id": "id", "email": "email", "plan": "plan"}', sync_mode => 'mirror');
-- The token travels in every record: shown masked.
SELECT record_id, payload FROM reverse_etl.preview_mapping('Identify User') ORDER BY record_id;
-- p2 is refused (strict mode: 400 with failed_records): rejected alone.
SELECT * FROM public.sync_outcome('Identify User');
SELECT record_id, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'Identify User';
SELECT p.key AS distinct_id, p.value AS properties FROM jsonb_each(public.mock_vendor_state()->'profiles') AS p ORDER BY 1;
SELECT r->>'path' AS path, r->'headers' ? 'authorization' AS has_authorization FROM public.mock_requests() AS r;
-- A deletion deletes the profile ($delete).
DELETE FROM public.vp_people WHERE id = 'p3';
SELECT * FROM public.sync_outcome('Identify User');
SELECT array_agg(p.key ORDER BY p.key) AS profiles FROM jsonb_each(public.mock_vendor_state()->'profiles') AS p;
-- Group profiles: a static group key, the group id the model's identifier.
CREATE TABLE public.vp_companies (name text PRIMARY KEY, seats int);
INSERT INTO public.vp_companies VALUES ('acme', 12), ('globex', 40);
SELECT reverse_etl.create_model('vp_companies', 'SELECT * FROM public.vp_companies', 'name');
SELECT reverse_etl.create_mapping('vp_companies', 'vp_mixpanel', 'group_profile',
    '{"group_key": {"value": "company"}, "group_id": "name", "seats": "seats"}', sync_mode => 'mirror');
SELECT * FROM public.sync_outcome('Group Identify');
DELETE FROM public.vp_companies WHERE name = 'globex';
SELECT * FROM public.sync_outcome('Group Identify');
SELECT public.mock_vendor_state()->'groups' AS groups;
-- A wrong token in the records: Mixpanel refuses every one of them (400
-- naming each), and the records are rejected, not lost.
UPDATE public.vp_companies SET seats = 13;
SELECT reverse_etl.alter_destination('vp_mixpanel', '{"project_token": "nope"}');
SELECT * FROM public.sync_outcome('Group Identify');
SELECT record_id, kind, error FROM reverse_etl.record_errors WHERE mapping = 'Group Identify';
SELECT reverse_etl.drop_destination('vp_mixpanel', cascade => true);
SELECT reverse_etl.drop_model(m) FROM unnest(ARRAY['vp_people', 'vp_companies']) AS m;
DROP TABLE public.vp_people, public.vp_companies;

------------------------------------------------------------------------------
-- Amplitude identify_user (a form-encoded request, answers in plain text)
------------------------------------------------------------------------------
CREATE TABLE public.vp_amp (id text PRIMARY KEY, plan text, seats int);
INSERT INTO public.vp_amp VALUES ('user-1', 'pro', 3), ('user-2', 'free', NULL);
SELECT reverse_etl.create_model('vp_amp', 'SELECT * FROM public.vp_amp', 'id');
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "amplitude", "api_key": "amp-key-2"}}');
SELECT reverse_etl.create_destination('vp_amplitude', 'amplitude',
    jsonb_build_object('api_key', 'amp-key-2', 'endpoint', mock_url()), enabled => true);
SELECT reverse_etl.create_mapping('vp_amp', 'vp_amplitude', 'identify_user',
    '{"user_id": "id", "plan": "plan", "seats": "seats"}', sync_mode => 'mirror');
SELECT * FROM public.sync_outcome('Identify User');
SELECT r->>'path' AS path, r->'headers'->>'content-type' AS content_type,
       (SELECT jsonb_object_agg(split_part(kv, '=', 1), length(split_part(kv, '=', 2)) > 0)
          FROM regexp_split_to_table(r->>'body', '&') AS kv) AS form_fields
  FROM public.mock_requests() AS r;
SELECT public.mock_vendor_state()->'users' AS users;
-- Mirror: a deleted record clears its user's properties ($clearAll).
DELETE FROM public.vp_amp WHERE id = 'user-1';
SELECT * FROM public.sync_outcome('Identify User');
SELECT public.mock_vendor_state()->'users' AS users;
-- A wrong key: Amplitude's plain-text invalid_api_key fails the run.
UPDATE public.vp_amp SET seats = 5;
SELECT reverse_etl.alter_destination('vp_amplitude', '{"api_key": "nope-key"}');
SELECT * FROM public.sync_outcome('Identify User');
SELECT reverse_etl.drop_destination('vp_amplitude', cascade => true);
SELECT reverse_etl.drop_model('vp_amp');
DROP TABLE public.vp_amp;

-- Suggested mappings reach the vendors' field names through synonyms.
CREATE TABLE public.vp_crm (id text PRIMARY KEY, email_address text, given_name text, family_name text,
                            transaction_amount numeric, currency_code text, purchased_at timestamptz, sku text);
SELECT reverse_etl.create_model('vp_crm', 'SELECT * FROM public.vp_crm', 'id');
SELECT * FROM reverse_etl.suggest_mappings('vp_crm', 'vp_braze', 'user_attributes');
SELECT * FROM reverse_etl.suggest_mappings('vp_crm', 'vp_braze', 'track_purchase');
SELECT * FROM reverse_etl.suggest_mappings('vp_crm', 'vp_cio', 'person');

-- The CRMs' fields: HubSpot's internal names, Salesforce's API names.
SELECT reverse_etl.create_destination('vp_hs', 'hubspot', '{"access_token": "t"}');
SELECT reverse_etl.create_destination('vp_sf', 'salesforce',
    '{"instance_url": "https://acme.my.salesforce.com", "access_token": "t"}');
SELECT * FROM reverse_etl.suggest_mappings('vp_crm', 'vp_hs', 'contact');
SELECT * FROM reverse_etl.suggest_mappings('vp_crm', 'vp_sf', 'lead');
SELECT * FROM reverse_etl.suggest_mappings('vp_crm', 'vp_sf', 'opportunity');
SELECT reverse_etl.drop_destination(d, cascade => true) FROM unnest(ARRAY['vp_braze', 'vp_cio', 'vp_hs', 'vp_sf']) AS d;
SELECT reverse_etl.drop_model(m) FROM unnest(ARRAY['vp_users', 'vp_events', 'vp_crm']) AS m;
DROP TABLE public.vp_users, public.vp_events, public.vp_crm;
SELECT public.mock_reset();

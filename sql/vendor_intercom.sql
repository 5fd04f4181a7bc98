-- Intercom (issue 15): contacts and companies, one request a record (Intercom
-- has no batch API), against the Intercom mock (test/mocks/intercom.py).
-- Upserts update a contact by the id Intercom gave (kept in the checkpoint),
-- else search for it first and update it, or create it when Intercom has
-- none (the lookup's "missing": "add"). Deletions delete by the kept id, or
-- search first.
SET client_min_messages = warning;

SELECT action, name, sync_modes, default_sync_mode, max_batch_records, nulls_allowed
  FROM reverse_etl.destination_actions WHERE type = 'intercom' ORDER BY action;
SELECT s.key AS setting, s.value->>'secret' AS secret, s.value->>'default' AS default
  FROM reverse_etl.destination_types, jsonb_each(settings) AS s WHERE type = 'intercom' ORDER BY 1;

CREATE TABLE public.ic_people (id int PRIMARY KEY, user_id text, email text, full_name text, phone text,
                               plan text, signed_up_at timestamptz);
INSERT INTO public.ic_people VALUES
    (1, 'u1', 'ann@example.com', 'Ann Archer', '+15550001', 'pro',  '2024-05-01 10:00:00+00'),
    (2, 'u2', 'bob@example',     'Bob Baker',  NULL,        'free', NULL),
    (3, 'u3', 'cy@example.com',  'Cy Cole',    NULL,        'pro',  '2024-05-02 00:00:00+00');
SELECT reverse_etl.create_model('ic_people', 'SELECT * FROM public.ic_people', 'id');
SELECT public.mock_reset();
-- Intercom refuses Bob's email (a 400 for his request alone).
SELECT public.mock_config('{"vendor": {"type": "intercom", "access_token": "ic-token-1",
    "reject": {"u2": "Email address is invalid"}}}');
SELECT reverse_etl.create_destination('ic', 'intercom',
    jsonb_build_object('access_token', 'ic-token-1', 'endpoint', mock_url()), enabled => true);
SELECT settings - 'endpoint' AS settings, settings->>'endpoint' = mock_url() AS endpoint_is_the_mock
  FROM reverse_etl.destinations WHERE name = 'ic';

-- Suggested fields: Intercom's contact attributes.
SELECT field, column_name FROM reverse_etl.suggest_mappings('ic_people', 'ic', 'contact') ORDER BY field;

------------------------------------------------------------------------------
-- Ann is in Intercom already (created by an add-mode mapping)
------------------------------------------------------------------------------
SELECT reverse_etl.create_mapping('ic_people', 'ic', 'contact', '{"external_id": "user_id", "email": "email"}',
    sync_mode => 'add', filter => 'id = 1', name => 'ic ann');
SELECT * FROM public.sync_outcome('ic ann');

------------------------------------------------------------------------------
-- Mirror: search, then update what Intercom has and create the rest
------------------------------------------------------------------------------
SELECT reverse_etl.create_mapping('ic_people', 'ic', 'contact',
    '{"external_id": "user_id", "email": "email", "name": "full_name", "phone": "phone",
      "signed_up_at": "signed_up_at", "custom_attributes": {"object": {"plan": "plan"}}}',
    sync_mode => 'mirror');
SELECT mapping_id AS mirror_id FROM reverse_etl.mapping_catalog WHERE name = 'Identify Contact' \gset
-- The exact bodies: times as Unix seconds, a NULL left out.
SELECT record_id, change, payload FROM reverse_etl.preview_mapping('Identify Contact') ORDER BY record_id;
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('Identify Contact');
SELECT record_id, change, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'Identify Contact';
-- Each record: a search; Ann found and updated by her id, Cy created, Bob's create refused.
SELECT r->>'method' AS method, regexp_replace(r->>'path', '[0-9a-f]{24}', '<id>') AS path,
       r->'headers'->>'authorization' AS authorization, r->'headers'->>'intercom-version' AS version,
       NULLIF(r->>'body', '')::jsonb AS body, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq
 ORDER BY NULLIF(r->>'body', '')::jsonb #>> '{query,value}', NULLIF(r->>'body', '')::jsonb->>'external_id', (r->>'seq')::int;
SELECT c.value->>'external_id' AS external_id, c.value->>'name' AS name, c.value->'signed_up_at' AS signed_up_at,
       c.value->'custom_attributes' AS custom_attributes
  FROM jsonb_each(public.mock_vendor_state()->'contacts') AS c ORDER BY 1;
-- Intercom's ids are kept (Bob has none: he is not in Intercom).
SELECT k.record_id, k.object_id = c.key AS own_id
  FROM reverse_etl_state.checkpoint_:mirror_id AS k
  LEFT JOIN jsonb_each(public.mock_vendor_state()->'contacts') AS c ON c.value->>'external_id' = k.dest_key::jsonb #>> '{}'
 ORDER BY k.record_id;

-- An update: by the kept ids, no search (Bob, who has no id, is looked up
-- first; the pass's requests then go concurrently: listed by path).
UPDATE public.ic_people SET plan = 'enterprise' WHERE id IN (1, 3);
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('Identify Contact');
SELECT r->>'method' AS method, regexp_replace(r->>'path', '[0-9a-f]{24}', '<id>') AS path, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq
 ORDER BY r->>'path' <> '/contacts/search', 2, 1, (r->>'seq')::int;
SELECT c.value->>'external_id' AS external_id, c.value->'custom_attributes'->>'plan' AS plan
  FROM jsonb_each(public.mock_vendor_state()->'contacts') AS c ORDER BY 1;

-- Cy leaves: deleted by the id Intercom gave, without a body.
SELECT object_id AS cy_id FROM reverse_etl_state.checkpoint_:mirror_id WHERE record_id = '3' \gset
DELETE FROM public.ic_people WHERE id = 3;
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('Identify Contact');
SELECT r->>'method' AS method, r->>'path' = '/contacts/' || :'cy_id' AS by_kept_id, r->>'body' AS body,
       r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq AND r->>'method' <> 'PUT'
 ORDER BY (r->>'seq')::int;
SELECT c.value->>'external_id' AS external_id FROM jsonb_each(public.mock_vendor_state()->'contacts') AS c ORDER BY 1;

------------------------------------------------------------------------------
-- Add mode: a create of a contact Intercom has is its 409, for that record
------------------------------------------------------------------------------
SELECT reverse_etl.create_mapping('ic_people', 'ic', 'contact', '{"external_id": "user_id"}',
    sync_mode => 'add', name => 'ic creates');
SELECT * FROM public.sync_outcome('ic creates');
SELECT record_id, kind, http_status, regexp_replace(error, '[0-9a-f]{24}', '<id>') AS error
  FROM reverse_etl.record_errors WHERE mapping = 'ic creates' ORDER BY record_id;

------------------------------------------------------------------------------
-- Update mode by email, delete mode: no kept ids, so each record is searched
------------------------------------------------------------------------------
CREATE TABLE public.ic_emails (email text PRIMARY KEY, full_name text);
INSERT INTO public.ic_emails VALUES ('ANN@example.com', 'Ann A.'), ('nobody@example.com', 'No One');
SELECT reverse_etl.create_model('ic_emails', 'SELECT * FROM public.ic_emails', 'email');
SELECT reverse_etl.create_mapping('ic_emails', 'ic', 'contact', '{"email": "email", "name": "full_name"}',
    sync_mode => 'update', action_settings => '{"identify_by": "email"}', name => 'ic names');
SELECT * FROM public.sync_outcome('ic names');
UPDATE public.ic_emails SET full_name = full_name || '!';
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('ic names');
SELECT record_id, kind, error FROM reverse_etl.record_errors WHERE mapping = 'ic names';
SELECT r->>'method' AS method, regexp_replace(r->>'path', '[0-9a-f]{24}', '<id>') AS path,
       NULLIF(r->>'body', '')::jsonb AS body, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq
 ORDER BY NULLIF(r->>'body', '')::jsonb #>> '{query,value}', (r->>'seq')::int;

INSERT INTO public.ic_people VALUES (4, 'u4', 'dee@example.com', 'Dee Dunn', NULL, 'free', NULL);
SELECT reverse_etl.create_mapping('ic_people', 'ic', 'contact', '{"external_id": "user_id"}',
    sync_mode => 'delete', name => 'ic deletions');
SELECT * FROM public.sync_outcome('ic deletions');
-- Ann is in Intercom; Dee never was: her deletion is done.
DELETE FROM public.ic_people WHERE id IN (1, 4);
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('ic deletions');
SELECT r->>'method' AS method, regexp_replace(r->>'path', '[0-9a-f]{24}', '<id>') AS path,
       NULLIF(r->>'body', '')::jsonb AS body, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq
 ORDER BY NULLIF(r->>'body', '')::jsonb #>> '{query,value}', (r->>'seq')::int;
SELECT c.value->>'external_id' AS external_id FROM jsonb_each(public.mock_vendor_state()->'contacts') AS c ORDER BY 1;

------------------------------------------------------------------------------
-- Companies, a 429, credentials, test records
------------------------------------------------------------------------------
CREATE TABLE public.ic_accounts (id int PRIMARY KEY, name text, seats int, since date);
INSERT INTO public.ic_accounts VALUES (1, 'Acme', 12, '2020-01-01'), (2, 'Globex', 40, NULL);
SELECT reverse_etl.create_model('ic_accounts', 'SELECT * FROM public.ic_accounts', 'id');
SELECT reverse_etl.create_mapping('ic_accounts', 'ic', 'company',
    '{"company_id": {"template": "acct-{{id}}"}, "name": "name", "size": "seats", "remote_created_at": "since"}');
-- Intercom's 429 (rate_limit_exceeded, X-RateLimit-Remaining 0, no
-- Retry-After) is waited out and the request sent again.
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "intercom", "access_token": "ic-token-1"},
    "script": [{"status": 429, "headers": {"X-RateLimit-Limit": "1666", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"},
                "body": {"type": "error.list", "request_id": "r1", "errors": [{"code": "rate_limit_exceeded", "message": "Exceeded rate limit of 1666 in 10_seconds"}]}}]}');
SELECT * FROM public.sync_outcome('Identify Company');
SELECT array_agg((r->>'status')::int ORDER BY (r->>'seq')::int) AS statuses
  FROM public.mock_requests() AS r WHERE r->>'method' = 'POST';
SELECT c.key AS company_id, c.value->>'name' AS name, c.value->'size' AS size, c.value->'remote_created_at' AS created
  FROM jsonb_each(public.mock_vendor_state()->'companies') AS c ORDER BY 1;
-- A wrong token: Intercom's 401 ends the run with its message.
UPDATE public.ic_accounts SET seats = seats + 1;
SELECT reverse_etl.alter_destination('ic', '{"access_token": "wrong"}');
SELECT * FROM public.sync_outcome('Identify Company');
SELECT reverse_etl.alter_destination('ic', '{"access_token": "ic-token-1", "api_version": "2.11"}');
-- send_test_record shows the exact request: a contact with no kept id is
-- created (an upsert would search first), the token masked.
SELECT t->'request'->>'method' AS method, t->'request'->>'url' ~ '/contacts$' AS url,
       t->'request'->'headers'->>'Authorization' AS authorization,
       t->'request'->'headers'->>'Intercom-Version' AS version, t->'request'->'body' AS body,
       t->'response'->'status' AS status
  FROM reverse_etl.send_test_record('Identify Contact', '2') AS t;
SELECT t->'request'->>'url' ~ '/companies$' AS url, t->'request'->'body' AS body, t->'response'->'status' AS status
  FROM reverse_etl.send_test_record('Identify Company', '1') AS t;

SELECT reverse_etl.drop_destination('ic', "cascade" => true);
SELECT reverse_etl.drop_model('ic_people');
SELECT reverse_etl.drop_model('ic_emails');
SELECT reverse_etl.drop_model('ic_accounts');
DROP TABLE public.ic_people, public.ic_emails, public.ic_accounts;

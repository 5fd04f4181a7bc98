-- Salesforce (issue 14): sObject Collections against the Salesforce mock
-- (test/mocks/salesforce.py), authenticated with the OAuth refresh token flow:
-- the access token is fetched at a run's first request, kept in the
-- process's memory per destination and credentials (a sync runs in a
-- background worker of its own, so each run here fetches one), and fetched
-- again once when the API answers 401. Upserts by the external id field the mapping
-- names keep Salesforce's ids; updates and deletions go by them, after a SOQL
-- lookup by external id for records without one.
SET client_min_messages = warning;
-- One request at a time: the mock's tokens expire after a number of
-- requests (expire_after), not after a time, so requests in flight at once
-- would make which one crosses it depend on timing.
SET reverse_etl.max_concurrent_requests = 1;

SELECT action, name, sync_modes, default_sync_mode, max_batch_records
  FROM reverse_etl.destination_actions WHERE type = 'salesforce' ORDER BY action;

-- Salesforce ids and access tokens vary: shown as their shape.
CREATE FUNCTION public.sf_masked(t text) RETURNS text LANGUAGE sql AS $$
    SELECT regexp_replace(regexp_replace(t, '\m(001|003|00Q|006|a0[A-Z])[0-9A-Za-z]{15}\M', '<\1 id>', 'g'),
                          '00D[0-9A-Za-z]{12}![0-9A-Za-z.]+', '<token>', 'g')
$$;
-- The SOQL query of a lookup's URL, percent-decoded.
CREATE FUNCTION public.sf_soql(path text) RETURNS text LANGUAGE sql AS $$
    SELECT convert_from(string_agg(CASE WHEN m[1] IS NOT NULL THEN decode(substr(m[1], 2), 'hex')
                                        ELSE convert_to(m[2], 'UTF8') END, ''::bytea ORDER BY n), 'UTF8')
      FROM regexp_matches(substring(path FROM '[?&]q=([^&]*)'), '(%[0-9A-Fa-f]{2})|([^%])', 'g')
           WITH ORDINALITY AS t(m, n)
$$;

CREATE TABLE public.sf_accounts (id int PRIMARY KEY, ext text, name text, employees int);
INSERT INTO public.sf_accounts VALUES (1, 'A-1', 'Acme', 12), (2, 'A-2', 'Bad Co', 5), (3, 'A-3', 'Globex', 40);
SELECT reverse_etl.create_model('sf_accounts', 'SELECT * FROM public.sf_accounts', 'id');
SELECT public.mock_reset();
-- A connected app (no access token yet); Salesforce refuses A-2 (a validation rule).
SELECT public.mock_config('{"vendor": {"type": "salesforce", "client_id": "app-1", "client_secret": "app-secret-1",
    "refresh_token": "rt-1", "reject": {"A-2": "Accounts of Bad Co are not allowed"}}}');
SELECT reverse_etl.create_destination('sf', 'salesforce',
    jsonb_build_object('instance_url', mock_url(), 'client_id', 'app-1', 'client_secret', 'app-secret-1',
                       'refresh_token', 'rt-1'), enabled => true);
-- Secrets are write-only (the mock's address, which varies, left out).
SELECT settings - 'instance_url' AS settings FROM reverse_etl.destinations WHERE name = 'sf';

-- An sObject action needs its external id field; custom objects their sObject.
SELECT reverse_etl.create_mapping('sf_accounts', 'sf', 'account', '{"Ext__c": "ext", "Name": "name"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('sf_accounts', 'sf', 'custom_object', '{"Ext__c": "ext"}',
    action_settings => '{"external_id_field": "Ext__c"}');
\echo :LAST_ERROR_SQLSTATE

------------------------------------------------------------------------------
-- Mirror: upserts by external id through OAuth, ids kept, deletions by id
------------------------------------------------------------------------------
SELECT reverse_etl.create_mapping('sf_accounts', 'sf', 'account',
    '{"Ext__c": "ext", "Name": "name", "NumberOfEmployees": "employees"}',
    sync_mode => 'mirror', action_settings => '{"external_id_field": "Ext__c"}');
SELECT mapping_id AS mirror_id FROM reverse_etl.mapping_catalog WHERE name = 'Upsert Account' \gset
SELECT record_id, change, payload FROM reverse_etl.preview_mapping('Upsert Account') ORDER BY record_id;
-- The token first (a form POST), then one upsert of the three records; A-2
-- alone is rejected, with Salesforce's error for it.
SELECT * FROM public.sync_outcome('Upsert Account');
SELECT record_id, change, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'Upsert Account';
SELECT r->>'method' AS method, r->>'path' AS path,
       public.sf_masked(r->'headers'->>'authorization') AS authorization,
       r->'headers'->>'content-type' AS content_type,
       CASE WHEN r->>'path' LIKE '/services/oauth2/%' THEN r->>'body' ~ '^grant_type=refresh_token&client_id=app-1&client_secret=app-secret-1&refresh_token=rt-1$'
            ELSE NULL END AS refresh_grant,
       CASE WHEN r->>'path' LIKE '/services/data/%' THEN (r->>'body')::jsonb END AS body, r->'status' AS status
  FROM public.mock_requests() AS r ORDER BY (r->>'seq')::int;
SELECT (r->'headers'->>'authorization') = 'Bearer ' || (public.mock_vendor_state()->>'access_token') AS sent_the_granted_token
  FROM public.mock_requests() AS r WHERE r->>'path' LIKE '/services/data/%';
-- Salesforce's ids are kept: each record has its own.
SELECT k.record_id, k.dest_key, public.sf_masked(k.object_id) AS object_id,
       public.mock_vendor_state()->'records'->'Account'->k.object_id->>'Ext__c' AS salesforce_ext
  FROM reverse_etl_state.checkpoint_:mirror_id AS k ORDER BY k.record_id;

-- An update: the run (a new worker process) gets its token, then sends the
-- two changed records.
UPDATE public.sf_accounts SET employees = employees + 1, name = 'Bad Company' WHERE id = 2;
UPDATE public.sf_accounts SET employees = 13 WHERE id = 1;
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('Upsert Account');
SELECT r->>'method' AS method, r->>'path' AS path,
       CASE WHEN r->>'path' LIKE '/services/data/%' THEN jsonb_array_length((r->>'body')::jsonb->'records') END AS records
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq AND r->>'path' NOT LIKE '/\_\_vendor/%'
 ORDER BY (r->>'seq')::int;
SELECT o.value->>'Ext__c' AS ext, o.value->>'Name' AS name, o.value->>'NumberOfEmployees' AS employees
  FROM jsonb_each(public.mock_vendor_state()->'records'->'Account') AS o ORDER BY 1;

-- Globex leaves: deleted by the id Salesforce gave, in the query string.
SELECT object_id AS globex_id FROM reverse_etl_state.checkpoint_:mirror_id WHERE record_id = '3' \gset
DELETE FROM public.sf_accounts WHERE id = 3;
SELECT record_id, change, payload = to_jsonb(:'globex_id'::text) AS deletes_by_kept_id
  FROM reverse_etl.preview_mapping('Upsert Account') WHERE change = 'deleted';
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('Upsert Account');
SELECT r->>'method' AS method, public.sf_masked(r->>'path') AS path,
       CASE WHEN r->>'path' LIKE '/services/data/%' THEN r->>'body' END AS body, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq AND r->>'path' NOT LIKE '/\_\_vendor/%'
 ORDER BY (r->>'seq')::int;
SELECT public.mock_vendor_state()->'deleted'->'Account' ? :'globex_id' AS globex_deleted,
       public.mock_vendor_state()->'records'->'Account' ? :'globex_id' AS globex_still_there;

------------------------------------------------------------------------------
-- Add and update modes
------------------------------------------------------------------------------
CREATE TABLE public.sf_leads (id text PRIMARY KEY, ext text, last_name text, company text);
-- L3's external id has a quote and a backslash: SOQL string literals escape both.
INSERT INTO public.sf_leads VALUES ('L1', 'L-1', 'Lee', 'Initech'), ('L2', 'L-2', NULL, 'Hooli'),
    ('L3', 'O''Brien\x', 'Brien', 'Quotes Ltd');
SELECT reverse_etl.create_model('sf_leads', 'SELECT * FROM public.sf_leads', 'id');
SELECT reverse_etl.create_mapping('sf_leads', 'sf', 'lead', '{"Ext__c": "ext", "LastName": "last_name", "Company": "company"}',
    sync_mode => 'add', action_settings => '{"external_id_field": "Ext__c"}', name => 'sf leads');
-- Created with POST; the lead without a last name is Salesforce's
-- REQUIRED_FIELD_MISSING, for it alone.
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('sf leads');
SELECT record_id, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'sf leads';
SELECT r->>'method' AS method, r->>'path' AS path, (r->>'body')::jsonb AS body
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq AND r->>'path' LIKE '/services/data/%'
 ORDER BY (r->>'seq')::int;
-- Update mode sends by Salesforce's id. A mapping that never sent a record
-- has none: the records are looked up first, by external id, in one SOQL
-- query. Its first run sends nothing (update sends updated records only).
SELECT reverse_etl.create_mapping('sf_leads', 'sf', 'lead', '{"Ext__c": "ext", "Company": "company"}',
    sync_mode => 'update', action_settings => '{"external_id_field": "Ext__c"}', name => 'sf lead updates');
SELECT * FROM public.sync_outcome('sf lead updates');
UPDATE public.sf_leads SET company = company || ' Inc';
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
-- L1 and L3 are found and updated by the ids found; L2 (never created:
-- Salesforce refused it above) is not found, and an update of a record
-- Salesforce does not have is rejected.
SELECT * FROM public.sync_outcome('sf lead updates');
SELECT r->>'method' AS method, split_part(public.sf_masked(r->>'path'), '?', 1) AS path,
       public.sf_soql(r->>'path') AS soql, r->'headers'->>'content-type' AS content_type,
       public.sf_masked(r->>'body') AS body, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq AND r->>'path' LIKE '/services/data/%'
 ORDER BY (r->>'seq')::int;
SELECT record_id, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'sf lead updates' ORDER BY record_id;
SELECT o.value->>'Ext__c' AS ext, o.value->>'Company' AS company
  FROM jsonb_each(public.mock_vendor_state()->'records'->'Lead') AS o ORDER BY 1;
-- The ids found are kept: L1's next update goes straight by its id. L2,
-- rejected, is sent again (looked up again, and still not found).
UPDATE public.sf_leads SET company = company || '.' WHERE id = 'L1';
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('sf lead updates');
SELECT r->>'method' AS method, split_part(r->>'path', '?', 1) AS path, public.sf_soql(r->>'path') AS soql,
       public.sf_masked(r->>'body') AS body
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq AND r->>'path' LIKE '/services/data/%'
 ORDER BY (r->>'seq')::int;

-- Delete mode on records it never sent: looked up, then deleted by the ids
-- found; L2, which Salesforce does not have, is done (nothing to delete).
SELECT reverse_etl.create_mapping('sf_leads', 'sf', 'lead', '{"Ext__c": "ext"}',
    sync_mode => 'delete', action_settings => '{"external_id_field": "Ext__c"}', name => 'sf lead deletes');
SELECT * FROM public.sync_outcome('sf lead deletes');
SELECT reverse_etl.drop_mapping('sf lead updates');
DELETE FROM public.sf_leads;
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('sf lead deletes');
SELECT r->>'method' AS method, split_part(r->>'path', '?', 1) AS path, public.sf_soql(r->>'path') AS soql,
       public.sf_masked(substring(r->>'path' FROM '[?&]ids=.*')) AS ids, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq AND r->>'path' LIKE '/services/data/%'
 ORDER BY (r->>'seq')::int;
SELECT count(*) AS lead_errors FROM reverse_etl.record_errors WHERE mapping = 'sf lead deletes';
SELECT (SELECT count(*) FROM jsonb_object_keys(public.mock_vendor_state()->'records'->'Lead')) AS leads_left,
       jsonb_array_length(public.mock_vendor_state()->'deleted'->'Lead') AS leads_deleted;

------------------------------------------------------------------------------
-- Tokens: altered credentials, expiry within a run, refusals
------------------------------------------------------------------------------
-- A new refresh token (alter_destination): the kept access token is not
-- used. Each token works for 2 requests: the run's third request gets a 401,
-- the token is fetched again once, the request is sent again and the run
-- finishes. 450 records: 3 requests of at most 200.
SELECT public.mock_config('{"vendor": {"type": "salesforce", "client_id": "app-1", "client_secret": "app-secret-1",
    "refresh_token": "rt-2", "expire_after": 2}}');
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT reverse_etl.alter_destination('sf', '{"refresh_token": "rt-2"}');
CREATE TABLE public.sf_contacts (id int PRIMARY KEY, ext text, last_name text);
INSERT INTO public.sf_contacts SELECT g, 'C-' || g, 'Contact ' || g FROM generate_series(1, 450) AS g;
SELECT reverse_etl.create_model('sf_contacts', 'SELECT * FROM public.sf_contacts', 'id');
SELECT reverse_etl.create_mapping('sf_contacts', 'sf', 'contact', '{"Ext__c": "ext", "LastName": "last_name"}',
    action_settings => '{"external_id_field": "Ext__c"}');
SELECT * FROM public.sync_outcome('Upsert Contact');
SELECT r->>'method' AS method, r->>'path' AS path, public.sf_masked(r->'headers'->>'authorization') AS authorization,
       CASE WHEN r->>'path' LIKE '/services/data/%' THEN jsonb_array_length((r->>'body')::jsonb->'records') END AS records,
       r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq AND r->>'path' NOT LIKE '/\_\_vendor/%'
 ORDER BY (r->>'seq')::int;
SELECT count(*) AS contacts FROM jsonb_object_keys(public.mock_vendor_state()->'records'->'Contact');
-- The token never reaches run history or record errors.
SELECT count(*) AS runs_showing_a_token FROM reverse_etl.sync_runs
 WHERE public.sf_masked(coalesce(error, '')) <> coalesce(error, '');

-- A refresh token Salesforce no longer takes: the grant is refused and the
-- run fails with Salesforce's answer, sending nothing.
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT public.mock_config('{"vendor": {"type": "salesforce", "client_id": "app-1", "client_secret": "app-secret-1",
    "refresh_token": "rt-3"}}');
UPDATE public.sf_contacts SET last_name = last_name || '!' WHERE id = 1;
SELECT * FROM public.sync_outcome('Upsert Contact');
SELECT r->>'method' AS method, r->>'path' AS path, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq AND r->>'path' NOT LIKE '/\_\_vendor/%'
 ORDER BY (r->>'seq')::int;
-- Its record goes in the next run: no record error.
SELECT count(*) AS contact_errors FROM reverse_etl.record_errors WHERE mapping = 'Upsert Contact';
-- A wrong client secret: the grant is refused before any API request.
SELECT reverse_etl.alter_destination('sf', '{"client_secret": "wrong", "refresh_token": "rt-3"}');
SELECT * FROM public.sync_outcome('Upsert Contact');
-- `unauthorized`: every API request is 401 and grants are refused.
SELECT reverse_etl.alter_destination('sf', '{"client_secret": "app-secret-1"}');
SELECT public.mock_config('{"vendor": {"type": "salesforce", "client_id": "app-1", "client_secret": "app-secret-1",
    "refresh_token": "rt-3", "unauthorized": true}}');
SELECT * FROM public.sync_outcome('Upsert Contact');
SELECT count(*) AS runs_showing_a_secret FROM reverse_etl.sync_runs
 WHERE error ~ '(app-secret-1|rt-3|wrong)';

------------------------------------------------------------------------------
-- A plain access token, test records, custom objects
------------------------------------------------------------------------------
-- A wrong access token is not refreshed: the 401 ends the run.
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT public.mock_config('{"vendor": {"type": "salesforce", "access_token": "sf-token-1"}}');
SELECT reverse_etl.create_destination('sf plain', 'salesforce',
    jsonb_build_object('instance_url', mock_url(), 'access_token', 'wrong', 'api_version', 'v58.0'), enabled => true);
SELECT reverse_etl.create_mapping('sf_accounts', 'sf plain', 'account', '{"Ext__c": "ext", "Name": "name"}',
    action_settings => '{"external_id_field": "Ext__c"}', name => 'sf plain accounts');
SELECT * FROM public.sync_outcome('sf plain accounts');
SELECT count(*) AS grants FROM public.mock_requests() AS r WHERE r->>'path' LIKE '/services/oauth2/%'
   AND (r->>'seq')::int > :before_seq;
SELECT reverse_etl.alter_destination('sf plain', '{"access_token": "sf-token-1"}');
-- send_test_record shows the exact request, the token masked.
SELECT t->'request'->>'method' AS method, t->'request'->>'url' ~ '/services/data/v58.0/composite/sobjects/Account/Ext__c$' AS url,
       t->'request'->'headers'->>'Authorization' AS authorization, t->'request'->'body' AS body,
       t->'response'->'status' AS status, public.sf_masked(t->'response'->>'body') AS response
  FROM reverse_etl.send_test_record('sf plain accounts', '1') AS t;
-- And with OAuth: the granted token is masked too.
SELECT public.mock_config('{"vendor": {"type": "salesforce", "client_id": "app-1", "client_secret": "app-secret-1",
    "refresh_token": "rt-3"}}');
SELECT t->'request'->'headers'->>'Authorization' AS authorization, t->'response'->'status' AS status,
       t::text LIKE '%' || (public.mock_vendor_state()->>'access_token') || '%' AS shows_the_token
  FROM reverse_etl.send_test_record('Upsert Account', '1') AS t;
-- Custom objects: the sObject is the mapping's.
CREATE TABLE public.sf_pets (id int PRIMARY KEY, tag text, name text);
INSERT INTO public.sf_pets VALUES (1, 'P-1', 'Rex');
SELECT reverse_etl.create_model('sf_pets', 'SELECT * FROM public.sf_pets', 'id');
SELECT reverse_etl.create_mapping('sf_pets', 'sf', 'custom_object', '{"Tag__c": "tag", "Name": "name"}',
    action_settings => '{"sobject": "Pet__c", "external_id_field": "Tag__c"}');
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('Upsert Custom Object');
SELECT r->>'method' AS method, r->>'path' AS path, (r->>'body')::jsonb AS body
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq AND r->>'path' LIKE '/services/data/%'
 ORDER BY (r->>'seq')::int;

------------------------------------------------------------------------------
-- Limits: 403 REQUEST_LIMIT_EXCEEDED
------------------------------------------------------------------------------
-- Too many requests at once (the mock: more than one per half second) is
-- retried after Salesforce's Retry-After (when it gives one) and the run
-- succeeds: 450 contacts, 3 requests, each but the first refused once.
SELECT public.mock_config('{"vendor": {"type": "salesforce", "access_token": "sf-token-1",
    "rate_limit": {"requests": 1, "window_s": 0.5, "retry_after": 1}}}');
SELECT reverse_etl.create_mapping('sf_contacts', 'sf plain', 'contact', '{"Ext__c": "ext", "LastName": "last_name"}',
    action_settings => '{"external_id_field": "Ext__c"}', name => 'sf plain contacts');
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('sf plain contacts');
SELECT r->>'method' AS method, r->'status' AS status, r->>'body' LIKE '{"records"%' AS upsert
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq AND r->>'path' LIKE '/services/data/%'
 ORDER BY (r->>'seq')::int;
SELECT count(*) AS contacts FROM jsonb_object_keys(public.mock_vendor_state()->'records'->'Contact');
-- The daily allowance used up (a 403 TotalRequests: here with no
-- Sforce-Limit-Info count to tell it before): the run stops at once, no
-- retry, and its records go in a later run, with no record error.
SELECT public.mock_config('{"vendor": {"type": "salesforce", "access_token": "sf-token-1", "daily_limit": 0}}');
UPDATE public.sf_contacts SET last_name = last_name || '?' WHERE id <= 3;
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('sf plain contacts');
SELECT r->>'method' AS method, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq AND r->>'path' LIKE '/services/data/%'
 ORDER BY (r->>'seq')::int;
SELECT count(*) AS contact_errors FROM reverse_etl.record_errors WHERE mapping = 'sf plain contacts';
SELECT public.mock_config('{"vendor": {"type": "salesforce", "access_token": "sf-token-1"}}');
SELECT * FROM public.sync_outcome('sf plain contacts');

SELECT reverse_etl.drop_destination('sf', "cascade" => true);
SELECT reverse_etl.drop_destination('sf plain', "cascade" => true);
SELECT reverse_etl.drop_model('sf_accounts');
SELECT reverse_etl.drop_model('sf_leads');
SELECT reverse_etl.drop_model('sf_contacts');
SELECT reverse_etl.drop_model('sf_pets');
DROP TABLE public.sf_accounts, public.sf_leads, public.sf_contacts, public.sf_pets;
DROP FUNCTION public.sf_masked(text);
DROP FUNCTION public.sf_soql(text);

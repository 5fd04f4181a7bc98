-- HubSpot (issue 14): contacts, companies and custom objects through the CRM v3 batch APIs,
-- against the HubSpot mock (test/mocks/hubspot.py), which answers results in
-- reverse input order as HubSpot gives no order: every outcome is mapped
-- back by key. Upserts keep HubSpot's ids in the checkpoint; deletions
-- archive by them, or look the ids up by email first.
SET client_min_messages = warning;

SELECT action, name, sync_modes, default_sync_mode, max_batch_records
  FROM reverse_etl.destination_actions WHERE type = 'hubspot' ORDER BY action;

CREATE TABLE public.hs_people (id int PRIMARY KEY, email text, first_name text, last_name text, title text);
INSERT INTO public.hs_people VALUES
    (1, 'ann@example.com', 'Ann', 'Archer', 'CTO'),
    (2, 'bob@example.com', 'Bob', 'Baker', NULL),
    (3, 'cy@example.com',  'Cy',  'Cole',  'CFO');
SELECT reverse_etl.create_model('hs_people', 'SELECT * FROM public.hs_people', 'id');
SELECT public.mock_reset();
-- HubSpot refuses Bob's properties (the mock's state lives until the next
-- mock_config, so this is the only one until the company tests).
SELECT public.mock_config('{"vendor": {"type": "hubspot", "access_token": "hs-token-1",
    "reject": {"bob@example.com": "Property values were not valid: jobtitle"}}}');
SELECT reverse_etl.create_destination('hs', 'hubspot',
    jsonb_build_object('access_token', 'hs-token-1', 'endpoint', mock_url()), enabled => true);

-- Suggested fields: HubSpot's internal property names.
SELECT field, column_name FROM reverse_etl.suggest_mappings('hs_people', 'hs', 'contact') ORDER BY field;

------------------------------------------------------------------------------
-- Mirror: upserts by email, HubSpot's ids kept, deletions archive by them
------------------------------------------------------------------------------
SELECT reverse_etl.create_mapping('hs_people', 'hs', 'contact',
    '{"email": "email", "firstname": "first_name", "lastname": "last_name", "jobtitle": "title"}',
    sync_mode => 'mirror');
SELECT mapping_id AS mirror_id FROM reverse_etl.mapping_catalog WHERE name = 'Upsert Contact' \gset
-- The exact elements: a NULL property is left out (HubSpot would clear it).
SELECT record_id, change, payload FROM reverse_etl.preview_mapping('Upsert Contact') ORDER BY record_id;
-- Bob is refused in HubSpot's 207 (his email in context.ids): rejected
-- alone, the others of the batch go through.
SELECT * FROM public.sync_outcome('Upsert Contact');
SELECT record_id, change, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'Upsert Contact';
SELECT r->>'method' AS method, r->>'path' AS path, r->'headers'->>'authorization' AS authorization,
       jsonb_array_length((r->>'body')::jsonb->'inputs') AS inputs, r->'status' AS status
  FROM public.mock_requests() AS r ORDER BY (r->>'seq')::int;
SELECT o.value->'properties'->>'email' AS email, o.value->'properties'->>'firstname' AS firstname,
       o.value->'properties'->>'jobtitle' AS jobtitle
  FROM jsonb_each(public.mock_vendor_state()->'objects'->'contacts') AS o ORDER BY 1;
-- HubSpot answered in reverse order: each record still got its own id.
SELECT k.record_id, k.dest_key, k.object_id = o.key AS own_id
  FROM reverse_etl_state.checkpoint_:mirror_id AS k
  JOIN jsonb_each(public.mock_vendor_state()->'objects'->'contacts') AS o
    ON o.value->'properties'->>'email' = k.dest_key::jsonb #>> '{}'
 ORDER BY k.record_id;
-- An update: HubSpot's ids stay. (Bob, still refused, is rejected again in
-- every run: his record waits for a fix.)
SELECT pg_catalog.string_agg(object_id, ',' ORDER BY record_id) AS ids_before
  FROM reverse_etl_state.checkpoint_:mirror_id \gset
UPDATE public.hs_people SET title = 'Founder' WHERE id <> 2;
SELECT * FROM public.sync_outcome('Upsert Contact');
SELECT pg_catalog.string_agg(object_id, ',' ORDER BY record_id) = :'ids_before' AS same_ids
  FROM reverse_etl_state.checkpoint_:mirror_id;
SELECT o.value->'properties'->>'email' AS email, o.value->'properties'->>'jobtitle' AS jobtitle
  FROM jsonb_each(public.mock_vendor_state()->'objects'->'contacts') AS o ORDER BY 1;

-- Cy leaves: archived by the id HubSpot gave, with no lookup.
SELECT object_id AS cy_id FROM reverse_etl_state.checkpoint_:mirror_id WHERE record_id = '3' \gset
DELETE FROM public.hs_people WHERE id = 3;
SELECT record_id, change, payload = jsonb_build_object('id', :'cy_id') AS archive_by_kept_id
  FROM reverse_etl.preview_mapping('Upsert Contact') WHERE change = 'deleted';
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('Upsert Contact');
SELECT r->>'path' AS path, (r->>'body')::jsonb = jsonb_build_object('inputs', jsonb_build_array(jsonb_build_object('id', :'cy_id'))) AS by_kept_id
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq AND r->>'path' LIKE '%/archive'
 ORDER BY (r->>'seq')::int;
SELECT count(*) AS lookups FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq AND r->>'path' LIKE '%/read';
SELECT public.mock_vendor_state()->'archived'->'contacts' = jsonb_build_array(:'cy_id') AS cy_archived;

------------------------------------------------------------------------------
-- Delete mode: no id kept, so each deletion looks the email up first
------------------------------------------------------------------------------
INSERT INTO public.hs_people VALUES (4, 'dee@example.com', 'Dee', 'Dunn', NULL);
SELECT reverse_etl.create_mapping('hs_people', 'hs', 'contact', '{"email": "email"}', sync_mode => 'delete',
    name => 'hs deletions');
SELECT * FROM public.sync_outcome('hs deletions');
-- Ann is in HubSpot; Dee never was (the mirror mapping has not run since).
DELETE FROM public.hs_people WHERE id IN (1, 4);
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('hs deletions');
SELECT r->>'path' AS path, (r->>'body')::jsonb AS body, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq ORDER BY (r->>'seq')::int;
SELECT jsonb_array_length(public.mock_vendor_state()->'archived'->'contacts') AS archived_contacts;

------------------------------------------------------------------------------
-- Add (batch/create, outcomes by objectWriteTraceId) and update modes
------------------------------------------------------------------------------
CREATE TABLE public.hs_leads (lead_id text PRIMARY KEY, email text, first_name text);
INSERT INTO public.hs_leads VALUES ('L1', 'lee@example.com', 'Lee'), ('L2', 'LEE@example.com', 'Leo');
SELECT reverse_etl.create_model('hs_leads', 'SELECT * FROM public.hs_leads', 'lead_id');
SELECT reverse_etl.create_mapping('hs_leads', 'hs', 'contact', '{"email": "email", "firstname": "first_name"}',
    sync_mode => 'add', name => 'hs leads');
-- Two leads with one email (HubSpot ignores its case): the first is created,
-- HubSpot's 409 for the second comes back in a 207, for it alone.
SELECT * FROM public.sync_outcome('hs leads');
SELECT record_id, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'hs leads';
SELECT mapping_id AS leads_id FROM reverse_etl.mapping_catalog WHERE name = 'hs leads' \gset
SELECT record_id, object_id IS NOT NULL AS has_id FROM reverse_etl_state.checkpoint_:leads_id ORDER BY record_id;
-- Update mode: only existing contacts; an unknown email is HubSpot's OBJECT_NOT_FOUND.
CREATE TABLE public.hs_titles (email text PRIMARY KEY, title text);
INSERT INTO public.hs_titles VALUES ('lee@example.com', 'VP'), ('nobody@example.com', 'CEO');
SELECT reverse_etl.create_model('hs_titles', 'SELECT * FROM public.hs_titles', 'email');
SELECT reverse_etl.create_mapping('hs_titles', 'hs', 'contact', '{"email": "email", "jobtitle": "title"}',
    sync_mode => 'update', name => 'hs titles');
SELECT * FROM public.sync_outcome('hs titles');
UPDATE public.hs_titles SET title = title || '!';
SELECT * FROM public.sync_outcome('hs titles');
SELECT record_id, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'hs titles';
SELECT o.value->'properties'->>'jobtitle' AS lee_title
  FROM jsonb_each(public.mock_vendor_state()->'objects'->'contacts') AS o
 WHERE o.value->'properties'->>'email' = 'lee@example.com';

------------------------------------------------------------------------------
-- Companies, rate limits, credentials, test records
------------------------------------------------------------------------------
CREATE TABLE public.hs_accounts (id int PRIMARY KEY, domain text, name text, seats int);
INSERT INTO public.hs_accounts VALUES (1, 'acme.example', 'Acme', 12), (2, 'globex.example', 'Globex', 40);
SELECT reverse_etl.create_model('hs_accounts', 'SELECT * FROM public.hs_accounts', 'id');
SELECT reverse_etl.create_mapping('hs_accounts', 'hs', 'company',
    '{"domain": "domain", "name": "name", "numberofemployees": "seats"}');
-- A 429 (HubSpot's RATE_LIMIT body, Retry-After 1) is waited out.
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "hubspot", "access_token": "hs-token-1"},
    "script": [{"status": 429, "headers": {"Retry-After": "1"}, "body": {"status": "error", "message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT"}}]}');
SELECT * FROM public.sync_outcome('Upsert Company');
SELECT array_agg((r->>'status')::int ORDER BY (r->>'seq')::int) AS statuses FROM public.mock_requests() AS r;
SELECT o.value->'properties'->>'domain' AS domain, o.value->'properties'->>'numberofemployees' AS employees
  FROM jsonb_each(public.mock_vendor_state()->'objects'->'companies') AS o ORDER BY 1;
-- A wrong token: HubSpot's 401 ends the run with its message.
UPDATE public.hs_accounts SET seats = seats + 1;
SELECT reverse_etl.alter_destination('hs', '{"access_token": "wrong"}');
SELECT status, extracted, succeeded, failed,
       regexp_replace(error, '"correlationId":"[^"]*"', '"correlationId":"..."') AS error
  FROM public.sync_outcome('Upsert Company');
SELECT reverse_etl.alter_destination('hs', '{"access_token": "hs-token-1"}');
-- send_test_record shows the request, the token masked.
SELECT t->'request'->>'method' AS method, t->'request'->>'url' ~ '/crm/v3/objects/companies/batch/upsert$' AS url,
       t->'request'->'headers'->>'Authorization' AS authorization, t->'request'->'body' AS body,
       t->'response'->'status' AS status
  FROM reverse_etl.send_test_record('Upsert Company', '1') AS t;

------------------------------------------------------------------------------
-- Companies by another unique property; custom objects (action settings)
------------------------------------------------------------------------------
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "hubspot", "access_token": "hs-token-1"}}');
CREATE TABLE public.hs_firms (id int PRIMARY KEY, code text, domain text, name text);
INSERT INTO public.hs_firms VALUES (1, 'F-1', 'initech.example', 'Initech'), (2, 'F-2', NULL, 'Hooli'),
    (3, NULL, 'nocode.example', 'No Code');
SELECT reverse_etl.create_model('hs_firms', 'SELECT * FROM public.hs_firms', 'id');
-- The key property the mapping names must be mapped (domain no longer is
-- required: the key is).
SELECT reverse_etl.create_mapping('hs_firms', 'hs', 'company', '{"domain": "domain", "name": "name"}',
    action_settings => '{"id_property": "firm_code"}', name => 'hs firms');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('hs_firms', 'hs', 'company', '{"firm_code": "code", "name": "name"}',
    sync_mode => 'mirror', action_settings => '{"id_property": "firm_code"}', name => 'hs firms');
SELECT mapping_id AS firms_id FROM reverse_etl.mapping_catalog WHERE name = 'hs firms' \gset
SELECT action_settings FROM reverse_etl.mappings WHERE name = 'hs firms';
-- Upserted by firm_code; the firm without one is invalid, alone.
SELECT * FROM public.sync_outcome('hs firms');
SELECT record_id, kind, error FROM reverse_etl.record_errors WHERE mapping = 'hs firms';
SELECT r->>'path' AS path, (r->>'body')::jsonb AS body FROM public.mock_requests() AS r ORDER BY (r->>'seq')::int;
SELECT k.record_id, k.dest_key, k.object_id = o.key AS own_id
  FROM reverse_etl_state.checkpoint_:firms_id AS k
  JOIN jsonb_each(public.mock_vendor_state()->'objects'->'companies') AS o
    ON o.value->'properties'->>'firm_code' = k.dest_key::jsonb #>> '{}'
 ORDER BY k.record_id;
-- Hooli leaves: archived by the id HubSpot gave.
DELETE FROM public.hs_firms WHERE id = 2;
SELECT * FROM public.sync_outcome('hs firms');
SELECT jsonb_array_length(public.mock_vendor_state()->'archived'->'companies') AS archived_companies;

-- Custom objects: the object type and its unique property are action settings.
CREATE TABLE public.hs_cars (id int PRIMARY KEY, vin text, model text);
INSERT INTO public.hs_cars VALUES (1, 'VIN-1', 'Roadster'), (2, 'VIN-2', 'Coupe'), (3, 'VIN''3', 'Van');
SELECT reverse_etl.create_model('hs_cars', 'SELECT * FROM public.hs_cars', 'id');
SELECT reverse_etl.create_mapping('hs_cars', 'hs', 'custom_object', '{"vin": "vin", "model": "model"}',
    action_settings => '{"id_property": "vin"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('hs_cars', 'hs', 'custom_object', '{"vin": "vin", "model": "model"}',
    action_settings => '{"object_type": "p_cars", "id_property": "vin"}', name => 'hs cars');
SELECT * FROM public.sync_outcome('hs cars');
SELECT o.value->'properties'->>'vin' AS vin, o.value->'properties'->>'model' AS model
  FROM jsonb_each(public.mock_vendor_state()->'objects'->'p_cars') AS o ORDER BY 1;
-- The request names the object type in its path, the key property in each input.
SELECT t->'request'->>'url' ~ '/crm/v3/objects/p_cars/batch/upsert$' AS url, t->'request'->'body' AS body
  FROM reverse_etl.send_test_record('hs cars', '3') AS t;
-- Another object type with alter_mapping: records sent from then on go there
-- (unchanged ones are not sent again; reset_mapping does that).
SELECT reverse_etl.alter_mapping('hs cars', action_settings => '{"object_type": "2-3508482"}');
UPDATE public.hs_cars SET model = model || ' II' WHERE id = 1;
SELECT * FROM public.sync_outcome('hs cars');
SELECT o.value->'properties'->>'vin' AS vin, o.value->'properties'->>'model' AS model
  FROM jsonb_each(public.mock_vendor_state()->'objects'->'2-3508482') AS o ORDER BY 1;
SELECT reverse_etl.alter_mapping('hs cars', action_settings => '{"object_type": "p_cars"}');
-- Delete mode, no ids kept: each vin is looked up (batch/read with
-- idProperty vin), then archived; a vin HubSpot does not have counts as deleted.
SELECT reverse_etl.create_mapping('hs_cars', 'hs', 'custom_object', '{"vin": "vin"}', sync_mode => 'delete',
    action_settings => '{"object_type": "p_cars", "id_property": "vin"}', name => 'hs car deletions');
INSERT INTO public.hs_cars VALUES (4, 'VIN-4', 'Truck');
SELECT * FROM public.sync_outcome('hs car deletions');
DELETE FROM public.hs_cars WHERE id IN (2, 4);
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('hs car deletions');
SELECT r->>'path' AS path, (r->>'body')::jsonb AS body, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq ORDER BY (r->>'seq')::int;
SELECT o.value->'properties'->>'vin' AS vin_left
  FROM jsonb_each(public.mock_vendor_state()->'objects'->'p_cars') AS o ORDER BY 1;

SELECT reverse_etl.drop_destination('hs', "cascade" => true);
SELECT reverse_etl.drop_model('hs_people');
SELECT reverse_etl.drop_model('hs_leads');
SELECT reverse_etl.drop_model('hs_titles');
SELECT reverse_etl.drop_model('hs_accounts');
SELECT reverse_etl.drop_model('hs_firms');
SELECT reverse_etl.drop_model('hs_cars');
DROP TABLE public.hs_people, public.hs_leads, public.hs_titles, public.hs_accounts, public.hs_firms, public.hs_cars;

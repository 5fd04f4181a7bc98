-- Mailchimp (issue 15): audience members upserted through batch subscribe
-- (POST /3.0/lists/{id} with update_existing, up to 500 a request) and
-- archived one request each (DELETE .../members/{md5 of the lower-cased
-- email}). Mailchimp answers 200 even when some members fail: its errors[]
-- are mapped back onto the records by email. Every check reads what the
-- vendor mock stored (GET /__vendor/state) or received.
SET client_min_messages = warning;

CREATE TABLE public.vm_people (
    id          text PRIMARY KEY,
    email       text,
    first_name  text,
    status      text
);
INSERT INTO public.vm_people VALUES
    ('p1', 'Ann@Example.com', 'Ann', 'subscribed'),
    ('p2', 'bob@example.com', 'Bob', 'subscribed'),
    ('p3', 'cy@example.com',  'Cy',  'pending'),
    ('p4', 'dee@example',     'Dee', 'subscribed');
SELECT reverse_etl.create_model('vm_people', 'SELECT * FROM public.vm_people', 'id');

SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "mailchimp", "data_center": "us6", "audience_id": "aud1",
    "reject": {"bob@example.com": "bob@example.com was permanently deleted and cannot be re-imported."}}}');
-- The key's data center names the host; the endpoint setting points it at the mock.
SELECT reverse_etl.create_destination('vm_mailchimp', 'mailchimp',
    jsonb_build_object('api_key', 'mc-key-1-us6', 'audience_id', 'aud1', 'endpoint', mock_url() || '/3.0'),
    enabled => true);
SELECT action, name, sync_modes, default_sync_mode, max_batch_records, max_batch_bytes
  FROM reverse_etl.destination_actions WHERE type = 'mailchimp' ORDER BY action;
SELECT settings->'endpoint'->>'description' ~ 'api_key|API key' AS endpoint_from_key,
       settings->'api_key'->>'secret' AS secret
  FROM reverse_etl.destination_types WHERE type = 'mailchimp';

-- Merge fields go in an object spec; the key (email) is a whole column, as
-- mirror mode needs to archive deleted records.
SELECT reverse_etl.create_mapping('vm_people', 'vm_mailchimp', 'audience_member',
    '{"email_address": "email", "status": "status", "merge_fields": {"object": {"FNAME": "first_name"}}}',
    sync_mode => 'mirror');
SELECT record_id, change, payload FROM reverse_etl.preview_mapping('Upsert Audience Member') ORDER BY record_id;
-- One request for the four; Mailchimp names p2 (rejected by the mock) and p4
-- (not a real address) in errors[]: only they are rejected, by email.
SELECT * FROM public.sync_outcome('Upsert Audience Member');
SELECT record_id, kind, http_status, error FROM reverse_etl.record_errors
 WHERE mapping = 'Upsert Audience Member' ORDER BY 1;
SELECT m.key = md5(lower(m.value->>'email_address')) AS id_is_hash, m.value->>'email_address' AS email,
       m.value->>'status' AS status, m.value->'merge_fields' AS merge_fields
  FROM jsonb_each(public.mock_vendor_state()->'lists'->'aud1') AS m ORDER BY 2;
SELECT r->>'method' AS method, r->>'path' AS path,
       r->'headers'->>'authorization' = 'Basic ' || encode('reverse_etl:mc-key-1-us6', 'base64') AS basic_auth,
       (r->>'body')::jsonb - 'members' AS body, jsonb_array_length((r->>'body')::jsonb->'members') AS members
  FROM public.mock_requests() AS r WHERE r->>'path' LIKE '/3.0/%' ORDER BY (r->>'seq')::int;

-- An update and a deletion: the update in a batch (p2 and p4, still bad, are
-- sent and rejected again), the deletion archives the member at its hash, as
-- preview_mapping shows first.
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
UPDATE public.vm_people SET status = 'unsubscribed' WHERE id = 'p1';
DELETE FROM public.vm_people WHERE id = 'p3';
SELECT record_id, change, payload FROM reverse_etl.preview_mapping('Upsert Audience Member') ORDER BY record_id;
SELECT * FROM public.sync_outcome('Upsert Audience Member');
SELECT record_id, kind, error FROM reverse_etl.record_errors WHERE mapping = 'Upsert Audience Member' ORDER BY 1;
SELECT r->>'method' AS method, r->>'path' AS path, r->>'body' AS body, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq ORDER BY (r->>'seq')::int;
SELECT md5('cy@example.com') AS cy_hash;
SELECT m.value->>'email_address' AS email, m.value->>'status' AS status
  FROM jsonb_each(public.mock_vendor_state()->'lists'->'aud1') AS m ORDER BY 1;

-- send_test_record shows the exact request, the key masked.
SELECT t->'request'->>'method' AS method, t->'request'->>'url' ~ '/3.0/lists/aud1$' AS url,
       t->'request'->'headers'->>'Authorization' AS authorization,
       t->'request'->'body' AS body, t->'response'->'status' AS status
  FROM reverse_etl.send_test_record('Upsert Audience Member', 'p1') AS t;

-- A 429 is waited out (Retry-After honoured).
UPDATE public.vm_people SET first_name = 'Annie' WHERE id = 'p1';
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "mailchimp", "data_center": "us6", "audience_id": "aud1"},
    "script": [{"status": 429, "headers": {"Retry-After": "1", "Content-Type": "application/problem+json"},
                "body": {"type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": "Too Many Requests",
                         "status": 429, "detail": "You have exceeded the limit of 10 simultaneous connections.",
                         "instance": "00000000-0000-0000-0000-000000000000"}}]}');
SELECT * FROM public.sync_outcome('Upsert Audience Member');
SELECT array_agg((r->>'status')::int ORDER BY (r->>'seq')::int) AS statuses FROM public.mock_requests() AS r;

-- Bad credentials (a key of another data center): Mailchimp's 401 ends the
-- run with its message.
-- (The problem document's instance is random: left out.)
UPDATE public.vm_people SET first_name = 'Ann' WHERE id = 'p1';
SELECT reverse_etl.alter_destination('vm_mailchimp', '{"api_key": "mc-key-1-us7"}');
SELECT status, extracted, succeeded, failed,
       regexp_replace(error, '"instance":"[^"]*"', '"instance":"..."') AS error
  FROM public.sync_outcome('Upsert Audience Member');

SELECT reverse_etl.drop_destination('vm_mailchimp', cascade => true);
SELECT reverse_etl.drop_model('vm_people');
DROP TABLE public.vm_people;

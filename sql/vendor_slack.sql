-- Slack (issue 15): one message a record through an incoming webhook, at
-- most one a second, against the Slack mock (test/mocks/slack.py). The
-- webhook URL is the only setting, a secret, and the type's base URL.
SET client_min_messages = warning;

SELECT action, name, sync_modes, default_sync_mode, max_batch_records, nulls_allowed
  FROM reverse_etl.destination_actions WHERE type = 'slack';
SELECT s.key AS setting, s.value->>'required' AS required, s.value->>'secret' AS secret
  FROM reverse_etl.destination_types, jsonb_each(settings) AS s WHERE type = 'slack';

CREATE TABLE public.sl_signups (id int PRIMARY KEY, name text, plan text, blocks jsonb);
INSERT INTO public.sl_signups VALUES
    (1, 'Ann', 'pro', NULL),
    (2, 'Bob', 'free', '[{"text": "a block without its type"}]'),
    (3, 'Cy', 'pro', '[{"type": "section", "text": {"type": "mrkdwn", "text": "*Cy* is on pro"}}]');
SELECT reverse_etl.create_model('sl_signups', 'SELECT * FROM public.sl_signups', 'id');
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "slack", "secret": "sekrit"}}');
SELECT reverse_etl.create_destination('sl', 'slack',
    jsonb_build_object('webhook_url', mock_url('/services/T0001/B0002/sekrit')), enabled => true);
-- The URL is the credential: never shown.
SELECT settings FROM reverse_etl.destinations WHERE name = 'sl';
-- It is checked as a URL, without showing it.
SELECT reverse_etl.alter_destination('sl', '{"webhook_url": "hooks.slack.com/services/T/B/x"}');
\echo :LAST_ERROR_SQLSTATE

-- A message per added record: text from a template, blocks when the record has them.
SELECT reverse_etl.create_mapping('sl_signups', 'sl', 'message',
    '{"text": {"template": "New signup: {{name}} ({{plan}})"}, "blocks": "blocks"}');
SELECT record_id, change, payload FROM reverse_etl.preview_mapping('Post Message') ORDER BY record_id;
-- Bob's blocks are malformed: Slack's 400 invalid_blocks rejects his message alone.
SELECT * FROM public.sync_outcome('Post Message');
SELECT record_id, change, kind, http_status, error FROM reverse_etl.record_errors WHERE mapping = 'Post Message';
SELECT m->>'text' AS text, m->'blocks' AS blocks FROM jsonb_array_elements(public.mock_vendor_state()->'messages') AS m
 ORDER BY 1;
-- One message a request, one a second (the declared rate limit).
SELECT count(*) AS requests,
       max((r->>'epoch')::float8) - min((r->>'epoch')::float8) >= 1.5 AS paced
  FROM public.mock_requests() AS r WHERE r->>'method' = 'POST';

-- Updates and deletions post their own messages.
SELECT reverse_etl.create_mapping('sl_signups', 'sl', 'message',
    '{"text": {"template": "{{name}} moved to {{plan}}"}}', sync_mode => 'updated', name => 'sl plans');
SELECT reverse_etl.create_mapping('sl_signups', 'sl', 'message',
    '{"text": {"template": "Signup {{id}} was removed"}}', sync_mode => 'deleted', name => 'sl removals');
SELECT * FROM public.sync_outcome('sl plans');
SELECT * FROM public.sync_outcome('sl removals');
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "slack", "secret": "sekrit"}}');
UPDATE public.sl_signups SET plan = 'enterprise' WHERE id = 1;
DELETE FROM public.sl_signups WHERE id = 3;
SELECT * FROM public.sync_outcome('sl plans');
SELECT * FROM public.sync_outcome('sl removals');
SELECT m->>'text' AS text FROM jsonb_array_elements(public.mock_vendor_state()->'messages') AS m;

-- A 429 with Retry-After is waited out.
UPDATE public.sl_signups SET plan = 'pro' WHERE id = 1;
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "slack", "secret": "sekrit"},
    "script": [{"status": 429, "headers": {"Retry-After": "1", "Content-Type": "text/html"}, "body": "rate_limited"}]}');
SELECT * FROM public.sync_outcome('sl plans');
SELECT array_agg((r->>'status')::int ORDER BY (r->>'seq')::int) AS statuses
  FROM public.mock_requests() AS r WHERE r->>'method' = 'POST';

-- A webhook removed (404 no_service), a channel archived (410), a wrong
-- URL (403 invalid_token): the run fails with Slack's words, the message
-- goes in a later run.
UPDATE public.sl_signups SET plan = 'free' WHERE id = 1;
SELECT public.mock_config('{"vendor": {"type": "slack", "revoked": true}}');
SELECT * FROM public.sync_outcome('sl plans');
SELECT public.mock_config('{"vendor": {"type": "slack", "archived": true}}');
SELECT * FROM public.sync_outcome('sl plans');
SELECT public.mock_config('{"vendor": {"type": "slack", "secret": "other"}}');
SELECT * FROM public.sync_outcome('sl plans');
SELECT public.mock_config('{"vendor": {"type": "slack", "secret": "sekrit"}}');
SELECT * FROM public.sync_outcome('sl plans');
SELECT m->>'text' AS text FROM jsonb_array_elements(public.mock_vendor_state()->'messages') AS m;

-- send_test_record shows the exact request, the secret URL masked.
SELECT t->'request'->>'method' AS method, t->'request'->>'url' AS url, t->'request'->'body' AS body,
       t->'response'->'status' AS status, t->'response'->'body' AS answer
  FROM reverse_etl.send_test_record('Post Message', '1') AS t;

SELECT reverse_etl.drop_destination('sl', "cascade" => true);
SELECT reverse_etl.drop_model('sl_signups');
DROP TABLE public.sl_signups;

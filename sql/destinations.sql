-- Destinations: the type catalog, create/alter/enable/disable/drop, settings
-- validated key by key, and secrets that never come back out.

-- The catalog, built from the definition files.
SELECT type, name FROM reverse_etl.destination_types ORDER BY type;
SELECT key, value->>'type' AS type, value->'required' AS required, value->'secret' AS secret, value->'default' AS default
  FROM reverse_etl.destination_types, jsonb_each(settings)
 WHERE type = 'webhook' ORDER BY key;
SELECT key, value->>'type' AS type, value->'required' AS required, value->'secret' AS secret, value->'default' AS default
  FROM reverse_etl.destination_types, jsonb_each(settings)
 WHERE type = 'segment' ORDER BY key;
SELECT type, action, name, sync_modes, default_sync_mode, max_batch_records, max_batch_bytes, nulls_allowed
  FROM reverse_etl.destination_actions ORDER BY type, action;
SELECT action, key AS field, value->>'type' AS type, value->'required' AS required, value->'one_of_required' AS one_of
  FROM reverse_etl.destination_actions, jsonb_each(fields)
 WHERE type = 'segment' ORDER BY action, key;
SELECT fields ? '*' AS free_fields FROM reverse_etl.destination_actions WHERE type = 'webhook';
-- Every setting, action and field is described.
SELECT count(*) AS undocumented FROM reverse_etl.destination_types, jsonb_each(settings)
 WHERE coalesce(value->>'description', '') = '';
SELECT count(*) AS undocumented FROM reverse_etl.destination_actions, jsonb_each(fields)
 WHERE coalesce(value->>'description', '') = '';

-- Create: a webhook with every kind of secret, and a Segment destination.
SELECT reverse_etl.create_destination('crm hook', 'webhook', '{
    "url": "http://127.0.0.1:18080/users/{{record_id}}",
    "method": "PUT",
    "headers": {"X-Api-Key": "hdr-secret-1", "X-Team": "growth"},
    "bearer_token": "tok-secret-2",
    "signing_secret": "sig-secret-3",
    "batch_size": 1,
    "timeout": "5 seconds"
}');
SELECT reverse_etl.create_destination('segment prod', 'segment',
    '{"write_key": "wk-secret-4", "endpoint": "http://127.0.0.1:18080"}', enabled => true);
SELECT reverse_etl.create_destination('basic hook', 'webhook',
    '{"url": "https://hooks.example.com/in", "basic_username": "svc", "basic_password": "pw-secret-5"}');
-- Secrets are shown masked, everything else as given.
SELECT name, type, jsonb_pretty(settings) AS settings, enabled, owner FROM reverse_etl.destinations ORDER BY name;
-- No secret value appears anywhere in the views.
SELECT count(*) AS leaks FROM reverse_etl.destinations d
 WHERE d::text ~ '(hdr|tok|sig|wk|pw)-secret';

-- Settings errors name the key.
SELECT reverse_etl.create_destination('bad', 'webhook', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('bad', 'webhook', '{"url": "http://x.example", "methd": "POST"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('bad', 'webhook', '{"url": "http://x.example", "colour": "red"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('bad', 'webhook', '{"url": "http://x.example", "batch_size": "ten"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('bad', 'webhook', '{"url": "http://x.example", "batch_size": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('bad', 'webhook', '{"url": "http://x.example", "max_requests_per_second": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('bad', 'webhook', '{"url": "http://x.example", "max_requests_per_second": 2.5}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('bad', 'webhook', '{"url": "http://x.example", "method": "GET"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('bad', 'webhook', '{"url": "http://x.example", "timeout": "soon"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('bad', 'webhook', '{"url": "http://x.example", "headers": {"X-A": 1}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('bad', 'webhook', '{"url": "ftp://x.example/in"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('bad', 'webhook', '{"url": "http://"}');
\echo :LAST_ERROR_SQLSTATE
-- libcurl's URL parser decides: port 0, an unclosed IPv6 literal. A third
-- slash where the host belongs, which libcurl would skip, is no host.
SELECT reverse_etl.create_destination('bad', 'webhook', '{"url": "http://x.example:0/in"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('bad', 'webhook', '{"url": "https:///hook"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('bad', 'webhook', '{"url": "http://[::1/in"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('bad', 'webhook', '"http://x.example"');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('bad', 'segment', '{"write_key": 42}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('bad', 'segment', '{"endpoint": "http://127.0.0.1:18080"}');
\echo :LAST_ERROR_SQLSTATE
-- Unknown type: the hint lists the types.
SELECT reverse_etl.create_destination('bad', 'hubspott', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('crm hook', 'webhook', '{"url": "http://x.example"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('bad', NULL, '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS bad_destinations FROM reverse_etl.destinations WHERE name = 'bad';

-- Alter merges key by key; JSON null removes a key.
SELECT reverse_etl.alter_destination('crm hook', settings => '{"method": "PATCH", "batch_size": 50, "timeout": null}');
SELECT jsonb_pretty(settings) FROM reverse_etl.destinations WHERE name = 'crm hook';
-- The stored secrets are untouched by a merge that does not name them.
SELECT settings->>'bearer_token' AS bearer_token, settings->'headers' AS headers
  FROM reverse_etl.destination_catalog WHERE name = 'crm hook';
-- Removing a required key, or a bad value, changes nothing.
SELECT reverse_etl.alter_destination('crm hook', settings => '{"url": null}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('crm hook', settings => '{"batch_size": 4001}');
\echo :LAST_ERROR_SQLSTATE
SELECT settings->>'url' AS url, settings->'batch_size' AS batch_size FROM reverse_etl.destinations WHERE name = 'crm hook';
-- Rename.
SELECT reverse_etl.alter_destination('basic hook', new_name => 'partner hook');
SELECT reverse_etl.alter_destination('partner hook', new_name => 'segment prod');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('no such hook', settings => '{}');
\echo :LAST_ERROR_SQLSTATE

-- Enable and disable.
SELECT reverse_etl.enable_destination('crm hook');
SELECT reverse_etl.disable_destination('segment prod');
SELECT name, enabled FROM reverse_etl.destinations ORDER BY name;
SELECT reverse_etl.enable_destination('nowhere');
\echo :LAST_ERROR_SQLSTATE

-- Drop.
SELECT reverse_etl.drop_destination('partner hook');
SELECT reverse_etl.drop_destination('partner hook');
\echo :LAST_ERROR_SQLSTATE
SELECT name FROM reverse_etl.destinations ORDER BY name;

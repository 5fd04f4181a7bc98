-- Values converted to their destination field's declared type (issue 11,
-- item 1), and Segment's context.library (item 3). Every check reads what
-- the mock destination recorded, or record_errors.
--   1. Segment: ids from bigint and numeric columns go out as strings, digit
--      for digit; datetimes from timestamp, date and text; objects from text;
--      values that cannot be converted make the record invalid, naming the
--      field; every event carries context.library; preview_mapping shows it.
--   2. Every field type: a test-only destination type with one field of each
--      type, and a table of values sent to each (the rules are in
--      docs/destination-definitions.md).
--   3. Static values are converted once; those a field cannot take are
--      refused when the mapping is created or altered.
--   4. Webhook free fields keep the column's own JSON type.
SET client_min_messages = warning;

-- The run row of a sync, without its varying parts.
CREATE FUNCTION pg_temp.st_sync(mapping text)
RETURNS TABLE(status text, extracted bigint, invalid bigint, succeeded bigint, failed bigint, error text)
LANGUAGE sql AS $$
    SELECT status, records_extracted, records_invalid, records_succeeded, records_failed, error
      FROM reverse_etl.sync(mapping)
$$;

-- What Segment events must carry, with the installed extension's version.
CREATE FUNCTION pg_temp.st_library() RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('library', jsonb_build_object('name', 'reverse_etl', 'version', extversion))
      FROM pg_catalog.pg_extension WHERE extname = 'reverse_etl'
$$;

------------------------------------------------------------------------------
-- 1. Segment
------------------------------------------------------------------------------
CREATE TABLE public.st_accounts (
    id          bigint PRIMARY KEY,
    account_id  bigint,
    score       numeric,
    plan        text,
    signed_up   date,
    seen        timestamp,        -- without time zone
    seen_text   text,
    traits_text text,
    ext         jsonb
);
INSERT INTO public.st_accounts VALUES
    (1, 100, 12345678901234567890, 'pro', '2026-01-05', '2026-01-05 10:00:00.5',
     '2026-01-05 11:00:00+01', '{"plan": "pro",  "seats": 3}', '"anon-1"'),
    (2, 200, 1.50, 'free', '2026-02-28', '2026-02-28 23:59:59', '2026-02-28', '{}', '7'),
    (3, 300, 2, 'team', NULL, NULL, 'yesterday', NULL, NULL),
    (4, 400, 3, 'team', NULL, NULL, NULL, 'not json', NULL),
    (5, 500, 4, 'team', NULL, NULL, NULL, '[1, 2]', '{"a": 1}');
SELECT reverse_etl.create_model('st_accounts', 'SELECT * FROM public.st_accounts', 'id');
SELECT reverse_etl.create_destination('st_segment', 'segment',
    jsonb_build_object('write_key', 'wk-st', 'endpoint', mock_url('/st/seg')), enabled => true);
-- userId and anonymousId are strings; traits an object; timestamp a datetime.
SELECT reverse_etl.create_mapping('st_accounts', 'st_segment', 'identify',
    '{"userId": "id", "anonymousId": "score", "traits": "traits_text", "timestamp": "seen"}',
    name => 'st_identify');
SELECT reverse_etl.create_mapping('st_accounts', 'st_segment', 'group',
    '{"groupId": "account_id", "userId": "id", "timestamp": "signed_up"}', name => 'st_group');
-- properties is built from columns: its members keep their JSON types.
SELECT reverse_etl.create_mapping('st_accounts', 'st_segment', 'track',
    '{"event": {"value": "Signed Up"}, "userId": "id", "timestamp": "seen_text",
      "properties": {"object": {"score": "score", "plan": "plan"}}}', name => 'st_track');
SELECT reverse_etl.create_mapping('st_accounts', 'st_segment', 'page',
    '{"name": "plan", "userId": "id", "anonymousId": "ext"}', name => 'st_page');

-- preview_mapping builds what the run will send: converted, with context.library.
CREATE TEMP TABLE st_preview AS
SELECT m AS mapping, p.record_id, p.payload
  FROM unnest(ARRAY['st_identify', 'st_group', 'st_track', 'st_page']) AS m,
       reverse_etl.preview_mapping(m, 10) AS p;
SELECT mapping, record_id, payload - 'messageId' - 'context' AS payload
  FROM st_preview WHERE mapping = 'st_identify' ORDER BY record_id;
SELECT count(*) AS previewed, count(*) FILTER (WHERE payload->'context' = pg_temp.st_library()) AS with_library
  FROM st_preview;

SELECT mock_reset();
SELECT * FROM pg_temp.st_sync('st_identify');
SELECT * FROM pg_temp.st_sync('st_group');
SELECT * FROM pg_temp.st_sync('st_track');
SELECT * FROM pg_temp.st_sync('st_page');
-- Each event as received (context is checked below).
SELECT record->>'type' AS type, record - 'messageId' - 'context' - 'type' AS event
  FROM mock_records() ORDER BY 1, (record->>'userId')::int;
-- The exact text: ids are JSON strings holding the digits PostgreSQL rendered.
SELECT strpos(body, '"userId":"1",') > 0 AS user_id_1,
       strpos(body, '"anonymousId":"12345678901234567890",') > 0 AS numeric_digits,
       strpos(body, '"anonymousId":"1.50",') > 0 AS numeric_scale,
       strpos(body, '"timestamp":"2026-01-05T10:00:00.5Z"') > 0 AS timestamp_utc
  FROM (SELECT r->>'body' AS body FROM mock_requests() AS r) AS b
 WHERE body LIKE '%"type":"identify"%';
SELECT strpos(body, '"groupId":"100",') > 0 AS group_id_100,
       strpos(body, '"timestamp":"2026-01-05T00:00:00Z"') > 0 AS date_midnight_utc
  FROM (SELECT r->>'body' AS body FROM mock_requests() AS r) AS b
 WHERE body LIKE '%"type":"group"%';
-- Every event says who sent it: {"library": {"name": "reverse_etl", "version": <installed version>}}.
SELECT count(*) AS events, count(*) FILTER (WHERE record->'context' = pg_temp.st_library()) AS with_library
  FROM mock_records();
SELECT count(*) AS requests,
       count(*) FILTER (WHERE strpos(r->>'body', '"context":{"library":{"name":"reverse_etl","version":"' ||
                                     (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'reverse_etl') ||
                                     '"}}') > 0) AS with_library_text
  FROM mock_requests() AS r;
-- What cannot be converted makes the record invalid; the reason names the field.
SELECT mapping, record_id, kind, error FROM reverse_etl.record_errors
 WHERE mapping LIKE 'st\_%' ORDER BY 1, 2;
-- The preview was what the run sent (the records it previewed, messageId aside).
SELECT count(*) AS compared, bool_and(p.payload - 'messageId' = r.record - 'messageId') AS same_payload
  FROM st_preview AS p
  JOIN mock_records() AS r
    ON r.record->>'type' = (SELECT action FROM reverse_etl.mappings WHERE name = p.mapping)
   AND r.record->>'userId' = p.record_id;

------------------------------------------------------------------------------
-- 2. Every field type
------------------------------------------------------------------------------
-- A destination type for this test only: one field of each type, one record
-- per request, nulls left out; a string extra naming the extension's version.
INSERT INTO reverse_etl.destination_type_catalog (type, definition) VALUES ('st_typed', $d${
  "type": "st_typed", "name": "Typed (test)", "description": "Test only: one field of each type.",
  "settings": [{"key": "url", "type": "string", "required": true, "description": "Where records go."}],
  "request": {"method": "POST", "url": "{{settings.url}}", "body": "record",
              "headers": {"Content-Type": "application/json"}},
  "actions": [{"key": "send", "name": "Send Typed", "description": "One record per request.",
               "sync_modes": ["added", "updated", "added_or_updated", "deleted", "all"],
               "default_sync_mode": "added",
               "fields": [
                 {"key": "id", "type": "string", "required": true, "description": "The case."},
                 {"key": "string", "type": "string", "description": "A string field."},
                 {"key": "number", "type": "number", "description": "A number field."},
                 {"key": "integer", "type": "integer", "description": "An integer field."},
                 {"key": "boolean", "type": "boolean", "description": "A boolean field."},
                 {"key": "datetime", "type": "datetime", "description": "A datetime field."},
                 {"key": "object", "type": "object", "description": "An object field."},
                 {"key": "array", "type": "array", "description": "An array field."},
                 {"key": "any", "type": "any", "description": "A field of any type."}],
               "max_batch_records": 1, "nulls_allowed": false,
               "record": {"sent_by": "reverse_etl/{{extension_version}}"}}]}$d$);
SELECT reverse_etl.create_destination('st_typed', 'st_typed',
    jsonb_build_object('url', mock_url('/st/typed')), enabled => true);

-- Each value (a jsonb column, so every JSON kind, numbers digit for digit)
-- sent to each field type. "any" passes everything as it is.
CREATE TABLE public.st_values (id text PRIMARY KEY, v jsonb);
INSERT INTO public.st_values VALUES
    ('v01', '1'), ('v02', '12345678901234567890'), ('v03', '1.50'), ('v04', '42.00'),
    ('v05', '-4.2'), ('v06', 'true'), ('v07', '"42"'), ('v08', '"1e3"'), ('v09', '"007"'),
    ('v10', '"-0.50"'), ('v11', '"true"'), ('v12', '"2026-01-05 10:00:00+01"'), ('v13', '"abc"'),
    ('v14', '{"a": 1}'), ('v15', '[1, "two"]');
SELECT reverse_etl.create_model('st_values', 'SELECT id, v FROM public.st_values', 'id');
SELECT reverse_etl.create_mapping('st_values', 'st_typed', 'send',
                                  jsonb_build_object('id', 'id', t, 'v'), name => 'st_to_' || t)
  FROM unnest(ARRAY['string', 'number', 'integer', 'boolean', 'datetime', 'object', 'array', 'any']) AS t;

CREATE TEMP TABLE st_sent (mapping text, id text, body text);
CREATE FUNCTION pg_temp.st_collect(mapping text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    run_status text;
BEGIN
    PERFORM mock_reset();
    SELECT status INTO run_status FROM reverse_etl.sync(mapping);
    INSERT INTO st_sent SELECT mapping, (r->>'body')::jsonb->>'id', r->>'body' FROM mock_requests() AS r;
    RETURN run_status;
END $$;
SELECT m AS mapping, pg_temp.st_collect(m) AS status
  FROM unnest(ARRAY['st_to_string', 'st_to_number', 'st_to_integer', 'st_to_boolean',
                    'st_to_datetime', 'st_to_object', 'st_to_array', 'st_to_any']) AS m;
-- Every request carries the string extra with the version substituted.
SELECT count(*) AS requests,
       count(*) FILTER (WHERE (body::jsonb)->>'sent_by' = 'reverse_etl/' ||
                              (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'reverse_etl')) AS with_version
  FROM st_sent;
-- The table: for each field type and value, the exact text sent, or the reason
-- the record is invalid.
SELECT substr(m.name, 7) AS field_type, x.id, x.v::text AS value,
       substring(s.body FROM '^\{"id":"[^"]*",("[a-z]+":.*),"sent_by":"[^"]*"\}$') AS sent,
       e.error
  FROM reverse_etl.mappings AS m
  JOIN public.st_values AS x ON true
  LEFT JOIN st_sent AS s ON s.mapping = m.name AND s.id = x.id
  LEFT JOIN reverse_etl.record_errors AS e ON e.mapping = m.name AND e.record_id = x.id
 WHERE m.name LIKE 'st\_to\_%'
 ORDER BY array_position(ARRAY['string', 'number', 'integer', 'boolean', 'datetime', 'object', 'array', 'any'],
                         substr(m.name, 7)), x.id;

-- Datetime fields from timestamptz, timestamp and date columns: RFC 3339
-- date-times; a value without an offset is UTC (the sync's session time zone).
-- infinity and BC dates have no ISO 8601 form.
CREATE TABLE public.st_times (id text PRIMARY KEY, tstz timestamptz, ts timestamp, day date);
INSERT INTO public.st_times VALUES
    ('t1', '2026-01-05 10:00:00.123+02', '2026-01-05 10:00:00.123', '2026-01-05'),
    ('t2', 'infinity', '-infinity', 'infinity'),
    ('t3', '0044-03-15 10:00:00+00 BC', '0044-03-15 10:00:00 BC', '0044-03-15 BC');
SELECT reverse_etl.create_model('st_times', 'SELECT * FROM public.st_times', 'id');
SELECT reverse_etl.create_mapping('st_times', 'st_typed', 'send',
                                  jsonb_build_object('id', 'id', 'datetime', c), name => 'st_time_' || c)
  FROM unnest(ARRAY['tstz', 'ts', 'day']) AS c;
SELECT m AS mapping, pg_temp.st_collect(m) AS status
  FROM unnest(ARRAY['st_time_tstz', 'st_time_ts', 'st_time_day']) AS m;
SELECT s.mapping, s.id, (s.body::jsonb)->>'datetime' AS sent
  FROM st_sent AS s WHERE s.mapping LIKE 'st\_time\_%' ORDER BY 1, 2;
SELECT mapping, record_id, error FROM reverse_etl.record_errors
 WHERE mapping LIKE 'st\_time\_%' ORDER BY 1, 2;

-- An object or array field mapped to a text column reads the text as JSON,
-- as select_object does; a json/jsonb string stays a string (invalid there).
CREATE TABLE public.st_texts (id text PRIMARY KEY, t text);
INSERT INTO public.st_texts VALUES ('x1', '{"k": [1,  2]}'), ('x2', ' [true] '), ('x3', 'null'),
                                   ('x4', 'plain'), ('x5', '"quoted"');
SELECT reverse_etl.create_model('st_texts', 'SELECT * FROM public.st_texts', 'id');
SELECT reverse_etl.create_mapping('st_texts', 'st_typed', 'send', '{"id": "id", "object": "t"}',
                                  name => 'st_text_object');
SELECT reverse_etl.create_mapping('st_texts', 'st_typed', 'send', '{"id": "id", "array": "t"}',
                                  name => 'st_text_array');
SELECT m AS mapping, pg_temp.st_collect(m) AS status FROM unnest(ARRAY['st_text_object', 'st_text_array']) AS m;
SELECT mapping, id, substring(body FROM '^(.*),"sent_by":"[^"]*"\}$') || '}' AS body
  FROM st_sent WHERE mapping LIKE 'st\_text\_%' ORDER BY 1, 2;
SELECT mapping, record_id, error FROM reverse_etl.record_errors
 WHERE mapping LIKE 'st\_text\_%' ORDER BY 1, 2;

------------------------------------------------------------------------------
-- 3. Static values
------------------------------------------------------------------------------
-- Converted once, when the run compiles the mapping; digits as written.
CREATE TABLE public.st_one (id text PRIMARY KEY);
INSERT INTO public.st_one VALUES ('s1');
SELECT reverse_etl.create_model('st_one', 'SELECT id FROM public.st_one', 'id');
SELECT reverse_etl.create_mapping('st_one', 'st_typed', 'send', $f${
    "id": "id", "string": {"value": 12345678901234567890.50}, "number": {"value": "1e3"},
    "integer": {"value": "42"}, "boolean": {"value": "false"}, "datetime": {"value": "2026-01-05"},
    "object": {"value": {"k": 1.0}}, "array": {"value": [1]}, "any": {"value": 1.0}}$f$,
    name => 'st_static');
SELECT pg_temp.st_collect('st_static') AS status;
SELECT substring(body FROM '^(.*),"sent_by":"[^"]*"\}$') || '}' AS body
  FROM st_sent WHERE mapping = 'st_static';
-- A static value the field cannot take is refused up front, with the same
-- reason a record would get (42804).
SELECT reverse_etl.create_mapping('st_one', 'st_typed', 'send', '{"id": "id", "integer": {"value": 4.20}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('st_one', 'st_typed', 'send', '{"id": "id", "number": {"value": "007"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('st_one', 'st_typed', 'send', '{"id": {"value": {"a": 1}}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('st_one', 'st_typed', 'send', '{"id": "id", "datetime": {"value": "tomorrow"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('st_one', 'st_typed', 'send', '{"id": "id", "boolean": {"value": 1}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('st_one', 'st_typed', 'send', '{"id": "id", "object": {"value": [1]}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_mapping('st_static', fields => '{"id": "id", "array": {"value": "[1]"}}');
\echo :LAST_ERROR_SQLSTATE
-- Templates build strings and metadata strings or numbers: never an object or an array.
SELECT reverse_etl.create_mapping('st_one', 'st_typed', 'send', '{"id": "id", "object": {"template": "{{id}}"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('st_one', 'st_typed', 'send', '{"id": "id", "array": {"meta": "run_id"}}');
\echo :LAST_ERROR_SQLSTATE
-- ... but they convert to scalars like any value.
SELECT reverse_etl.alter_mapping('st_static', fields => $f${
    "id": "id", "integer": {"meta": "run_id"}, "string": {"meta": "run_id"},
    "number": {"template": "4{{id}}"}, "datetime": {"template": "2026-01-0{{id}}"}}$f$);
UPDATE public.st_one SET id = '5';
SELECT pg_temp.st_collect('st_static') AS status;
SELECT (body::jsonb)->>'id' AS id,
       jsonb_typeof((body::jsonb)->'integer') AS integer_type, jsonb_typeof((body::jsonb)->'string') AS string_type,
       (body::jsonb)->>'integer' = (body::jsonb)->>'string' AS same_run_id,
       (body::jsonb)->'number' AS number, (body::jsonb)->'datetime' AS datetime
  FROM st_sent WHERE mapping = 'st_static' AND (body::jsonb)->>'id' = '5';

------------------------------------------------------------------------------
-- 4. Webhook free fields keep the column's own JSON type
------------------------------------------------------------------------------
SELECT reverse_etl.create_destination('st_hook', 'webhook', jsonb_build_object('url', mock_url('/st/hook')),
                                      enabled => true);
SELECT reverse_etl.create_mapping('st_accounts', 'st_hook', 'send',
    '{"id": "id", "score": "score", "seen": "seen", "day": "signed_up", "traits": "traits_text", "ext": "ext"}',
    name => 'st_webhook');
SELECT mock_reset();
SELECT * FROM pg_temp.st_sync('st_webhook');
SELECT r->>'body' AS body FROM mock_requests() AS r
 WHERE (r->>'body')::jsonb->>'id' IN ('1', '2') ORDER BY (r->>'body')::jsonb->>'id';

------------------------------------------------------------------------------
-- Definitions: only {{extension_version}} is replaced inside an object extra
------------------------------------------------------------------------------
INSERT INTO reverse_etl.destination_type_catalog (type, definition)
SELECT 'st_bad', jsonb_set(jsonb_set(definition, '{type}', '"st_bad"'),
                           '{actions,0,record}', '{"meta": {"id": "{{record_id}}"}}')
  FROM reverse_etl.destination_type_catalog WHERE type = 'st_typed';
SELECT reverse_etl.create_destination('st_bad', 'st_bad', jsonb_build_object('url', mock_url('/st/bad')));
\echo :LAST_ERROR_SQLSTATE

------------------------------------------------------------------------------
-- Clean up
------------------------------------------------------------------------------
SELECT mock_reset();
SELECT reverse_etl.drop_model(name, cascade => true)
  FROM unnest(ARRAY['st_accounts', 'st_values', 'st_times', 'st_texts', 'st_one']) AS name;
SELECT reverse_etl.drop_destination(name) FROM unnest(ARRAY['st_segment', 'st_typed', 'st_hook']) AS name;
DELETE FROM reverse_etl.destination_type_catalog WHERE type IN ('st_typed', 'st_bad');
DROP TABLE public.st_accounts, public.st_values, public.st_times, public.st_texts, public.st_one;
SELECT count(*) AS leftovers FROM reverse_etl.mappings WHERE name LIKE 'st\_%';

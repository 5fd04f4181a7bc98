-- Payloads and requests as the destination receives them: every field spec
-- form, sync_nulls, value conversions, webhook request shapes (batching,
-- methods, URL placeholders, headers, auth, signature) and Segment batches
-- (type, auth, messageId, userId/anonymousId, size limits).
-- Every check reads what the mock destination recorded.
-- sync() NOTICEs carry run ids, which depend on the tests run before.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgcrypto;   -- hmac(), to check X-Signature; dropped at the end

-- The run row of a sync, without its varying parts.
CREATE FUNCTION pg_temp.sp_sync(mapping text)
RETURNS TABLE(status text, extracted bigint, added bigint, updated bigint, deleted bigint,
              invalid bigint, selected bigint, succeeded bigint, failed bigint, error text)
LANGUAGE sql AS $$
    SELECT status, records_extracted, records_added, records_updated, records_deleted,
           records_invalid, records_selected, records_succeeded, records_failed, error
      FROM reverse_etl.sync(mapping)
$$;

------------------------------------------------------------------------------
-- 1. Every field spec form (webhook: free fields, body = the record's object)
------------------------------------------------------------------------------
CREATE TABLE public.sp_people (
    pid        text PRIMARY KEY,
    first_name text,
    last_name  text,
    jb         jsonb,
    tj         text,
    items      jsonb,
    items_text text,
    note       text
);
INSERT INTO public.sp_people VALUES
    ('p1', 'Ann', 'Archer',
     '{"a": {"b": "deep"}, "n": 7, "o": {"x": [1, 2]}, "p": 49.00, "q": "say \"hi\""}',
     '{"a": {"b": "in text"}}',
     '[{"sku": "A1", "qty": 2, "gift": null, "dim": {"w": 3}}, {"sku": "B7"}]',
     '[{"sku": "T1"}]', NULL),
    ('p2', 'Bob', NULL, NULL, NULL, NULL, NULL, 'a note'),
    -- text that is not JSON, read as JSON: an invalid record
    ('p3', 'Cy', 'Cole', '{}', 'not json', '[]', '[]', NULL);
SELECT reverse_etl.create_model('sp_people',
    'SELECT pid, first_name, last_name, jb, tj, items, items_text, note FROM public.sp_people', 'pid');
SELECT reverse_etl.create_destination('sp_hook', 'webhook',
    jsonb_build_object('url', mock_url('/sp/hook')), enabled => true);
SELECT reverse_etl.create_mapping('sp_people', 'sp_hook', 'send', $f${
    "id": "pid",
    "col": "first_name",
    "col_obj": {"column": "last_name"},
    "path_jsonb": {"column": "jb", "path": "a.b"},
    "path_text": {"column": "tj", "path": "a.b"},
    "path_missing": {"column": "jb", "path": "a.zz"},
    "path_obj": {"column": "jb", "path": "o"},
    "path_num": {"column": "jb", "path": "p"},
    "path_or_out": {"column": "jb", "path": "a.zz", "sync_nulls": false},
    "static": {"value": {"k": [1, "two", null], "n": 12345678901234567890.5}},
    "static_null": {"value": null},
    "static_omitted": {"value": null, "sync_nulls": false},
    "greeting": {"template": "Hi {{first_name}} {{ last_name }}! b={{jb.a.b}} t={{tj.a.b}} n={{jb.n}} q={{jb.q}} z={{jb.zz}}"},
    "obj": {"object": {"first": "first_name", "last": "last_name",
                       "last_or_out": {"column": "last_name", "sync_nulls": false},
                       "deep": {"column": "jb", "path": "a.b"},
                       "nested": {"object": {"id": {"meta": "record_id"}, "v": {"value": true}}}}},
    "obj_no_nulls": {"object": {"first": "first_name", "last": "last_name"}, "sync_nulls": false},
    "sel_obj": {"select_object": "jb"},
    "sel_obj_or_out": {"select_object": "jb", "sync_nulls": false},
    "sel_obj_text": {"select_object": "tj"},
    "arr": {"array": "items", "items": {"product": {"prop": "sku"}, "quantity": {"prop": "qty"},
                                        "gift": {"prop": "gift"},
                                        "gift_or_out": {"prop": "gift", "sync_nulls": false},
                                        "width": {"prop": "dim.w"}, "src": {"value": "pg"}}},
    "arr_text": {"array": "items_text", "items": {"s": {"prop": "sku"}}},
    "arr_short": {"array": "items", "items": {"product": "sku", "width": "dim.w"}},
    "sel_arr": {"select_array": "items"},
    "sel_arr_text": {"select_array": "items_text"},
    "note_or_out": {"column": "note", "sync_nulls": false},
    "note": {"column": "note"},
    "m_record": {"meta": "record_id"},
    "m_change": {"meta": "change"},
    "m_mapping": {"meta": "mapping"},
    "m_run": {"meta": "run_id"},
    "m_synced": {"meta": "synced_at"}
}$f$, sync_mode => 'all', name => 'sp_forms');
SELECT mock_reset();
SELECT * FROM pg_temp.sp_sync('sp_forms');
-- batch_size 1 (the default): one POST per record, whose body is the object.
SELECT r->>'method' AS method, r->>'path' AS path, jsonb_typeof((r->>'body')::jsonb) AS body,
       r->'headers'->>'content-type' AS content_type
  FROM mock_requests() AS r ORDER BY (r->>'body')::jsonb->>'id';
-- Each field of each record, as received (metadata checked below).
SELECT record->>'id' AS id, key, value
  FROM mock_records(), jsonb_each(record)
 WHERE key NOT IN ('m_run', 'm_synced')
 ORDER BY 1, 2;
-- run_id is the run's id; synced_at is ISO 8601 with an offset, within the run.
SELECT record->>'id' AS id,
       jsonb_typeof(record->'m_run') AS run_type,
       (record->>'m_run')::bigint = (SELECT max(run_id) FROM reverse_etl.sync_runs WHERE mapping = 'sp_forms') AS run_is_this_run,
       record->>'m_synced' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$' AS synced_format,
       (record->>'m_synced')::timestamptz BETWEEN s.started_at AND s.finished_at AS synced_in_run
  FROM mock_records(),
       (SELECT started_at, finished_at FROM reverse_etl.sync_runs WHERE mapping = 'sp_forms'
         ORDER BY run_id DESC LIMIT 1) AS s
 ORDER BY 1;
-- The exact text: numbers keep their digits, keys and strings escaped.
SELECT (r->>'body')::jsonb->>'id' AS id,
       strpos(r->>'body', '"path_num":49.00') > 0 AS path_digits,
       strpos(r->>'body', '"n":12345678901234567890.5}') > 0 AS static_digits,
       strpos(r->>'body', '"greeting":"Hi Ann Archer! b=deep t=in text n=7 q=say \"hi\" z="') > 0 AS template_text
  FROM mock_requests() AS r WHERE (r->>'body')::jsonb->>'id' = 'p1';
-- p3 is invalid (its text column does not hold JSON); the rest of the run went on.
SELECT record_id, change, kind, error, http_status FROM reverse_etl.record_errors
 WHERE mapping = 'sp_forms' ORDER BY record_id;

-- Second run: an update and a delete. A deleted record's payload has every
-- column NULL but the identifier.
UPDATE public.sp_people SET first_name = 'Anna' WHERE pid = 'p1';
DELETE FROM public.sp_people WHERE pid = 'p2';
SELECT mock_reset();
SELECT * FROM pg_temp.sp_sync('sp_forms');
SELECT record->>'m_record' AS record_id, record->>'m_change' AS change, record->'id' AS id,
       record->'col' AS col, record->'greeting' AS greeting, record->'obj' AS obj,
       record->'obj_no_nulls' AS obj_no_nulls, record ? 'note_or_out' AS has_note_or_out,
       record->'sel_obj' AS sel_obj, record->'arr' AS arr
  FROM mock_records() ORDER BY 1;

------------------------------------------------------------------------------
-- 2. Value conversions
------------------------------------------------------------------------------
CREATE TYPE public.sp_address AS (street text, zip integer);
CREATE TABLE public.sp_values (
    id   text PRIMARY KEY,
    t    text,
    i    integer,
    b    bigint,
    n    numeric,
    f    double precision,
    ok   boolean,
    ts   timestamptz,
    d    date,
    j    json,
    jb   jsonb,
    ta   text[],
    ia   integer[],
    addr public.sp_address,
    raw  bytea
);
INSERT INTO public.sp_values VALUES
    ('v1', E'say "hi" \\ tab\t é', 42, 9007199254740993, 49.00, 0.1, true,
     '2026-01-05 10:00:00.123+02', '2026-02-28',
     '{"a":  {"b": 1},   "s": "x  y"}', '{"k": [1, 2.50, "z"]}',
     '{x,"y z",NULL}', '{1,2,NULL}', ROW('Main St', 12345), '\x00ff10'),
    ('v2', NULL, NULL, NULL, 123456789012345678901234.5, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL),
    ('v3', 'numeric NaN', 1, 1, 'NaN', 1, true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    ('v4', 'float Infinity', 1, 1, 1, 'Infinity', true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    ('v5', '', -7, -9223372036854775808, -0.000001, -1.5e300, false,
     '1999-12-31 23:59:59+00', '0044-03-15', '[]', 'null', '{}', '{{1,2},{3,4}}',
     ROW(NULL, NULL), decode(repeat('ab', 100), 'hex'));
SELECT reverse_etl.create_model('sp_values', 'SELECT * FROM public.sp_values', 'id');
SELECT reverse_etl.create_mapping('sp_values', 'sp_hook', 'send', $f${
    "id": "id", "t": "t", "i": "i", "b": "b", "n": "n", "f": "f", "ok": "ok", "ts": "ts",
    "d": "d", "j": "j", "jb": "jb", "ta": "ta", "ia": "ia", "addr": "addr", "raw": "raw",
    "addr_obj": {"select_object": "addr"}, "ta_arr": {"select_array": "ta"}
}$f$, name => 'sp_values');
-- The worker's output does not depend on the caller's settings.
SET TimeZone = 'Asia/Kolkata';
SET DateStyle = 'SQL, DMY';
SELECT mock_reset();
SELECT * FROM pg_temp.sp_sync('sp_values');
SELECT record->>'id' AS id, key, jsonb_typeof(value) AS type, value
  FROM mock_records(), jsonb_each(record)
 WHERE key <> 'id' AND NOT (record->>'id' = 'v5' AND key IN ('f', 'raw'))   -- shown below
 ORDER BY 1, 2;
-- 100 bytes: base64 without line breaks (MIME would break it after 76 characters).
SELECT record->>'raw' AS raw, length(record->>'raw') AS length FROM mock_records() WHERE record->>'id' = 'v5';
-- The exact text of the bodies: digits as PostgreSQL has them; bytea as base64.
SELECT (r->>'body')::jsonb->>'id' AS id,
       strpos(r->>'body', '"n":49.00') > 0 OR strpos(r->>'body', '"n":123456789012345678901234.5') > 0
           OR strpos(r->>'body', '"n":-0.000001') > 0 AS numeric_digits,
       strpos(r->>'body', '"b":9007199254740993') > 0 OR strpos(r->>'body', '"b":null') > 0
           OR strpos(r->>'body', '"b":-9223372036854775808') > 0 AS bigint_digits,
       strpos(r->>'body', '"f":0.1,') > 0 OR strpos(r->>'body', '"f":null') > 0
           OR strpos(r->>'body', '"f":-1.5e+300') > 0 AS float_text,
       (r->>'body')::jsonb->>'raw' = (SELECT replace(encode(raw, 'base64'), E'\n', '') FROM public.sp_values v
                                       WHERE v.id = (r->>'body')::jsonb->>'id') AS raw_is_base64
  FROM mock_requests() AS r ORDER BY 1;
-- NaN and Infinity cannot be JSON numbers: invalid records, not sent.
SELECT record_id, change, kind, error FROM reverse_etl.record_errors
 WHERE mapping = 'sp_values' ORDER BY record_id;
RESET TimeZone;
RESET DateStyle;

------------------------------------------------------------------------------
-- 3. Webhook requests
------------------------------------------------------------------------------
CREATE TABLE public.sp_items (n integer PRIMARY KEY, label text);
INSERT INTO public.sp_items SELECT g, 'item ' || g || ' é' FROM generate_series(1, 7) AS g;
SELECT reverse_etl.create_model('sp_items', 'SELECT n, label FROM public.sp_items', 'n');
SELECT reverse_etl.create_destination('sp_batch', 'webhook',
    jsonb_build_object('url', mock_url('/sp/batch'), 'batch_size', 3, 'signing_secret', 'sign-me'),
    enabled => true);
SELECT reverse_etl.create_mapping('sp_items', 'sp_batch', 'send', '{"n": "n", "label": "label"}',
    name => 'sp_batch');
SELECT mock_reset();
SELECT * FROM pg_temp.sp_sync('sp_batch');
-- batch_size 3: 7 records in 3 requests, each body an array (the last one too).
SELECT count(*) AS requests,
       array_agg(jsonb_array_length((r->>'body')::jsonb) ORDER BY jsonb_array_length((r->>'body')::jsonb)) AS sizes,
       bool_and(jsonb_typeof((r->>'body')::jsonb) = 'array') AS all_arrays
  FROM mock_requests() AS r;
SELECT record FROM mock_records() ORDER BY (record->>'n')::int;
-- X-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>.
SELECT count(*) AS requests,
       bool_and(r->'headers'->>'x-signature' =
                'sha256=' || encode(hmac(convert_to(r->>'body', 'UTF8'), convert_to('sign-me', 'UTF8'), 'sha256'), 'hex'))
           AS signatures_match,
       bool_and((r->>'body_bytes')::int = octet_length(convert_to(r->>'body', 'UTF8'))) AS body_intact
  FROM mock_requests() AS r;

-- Methods, custom headers, bearer and basic auth, signature on a single-record body.
SELECT reverse_etl.create_destination('sp_auth', 'webhook',
    jsonb_build_object('url', mock_url('/sp/auth'), 'method', 'PUT',
                       'headers', jsonb_build_object('X-Api-Key', 'key-123', 'X-Team', 'data eng'),
                       'bearer_token', 'tok-456'),
    enabled => true);
CREATE TABLE public.sp_one (k text PRIMARY KEY, v text);
INSERT INTO public.sp_one VALUES ('k1', 'naïve "v"');
SELECT reverse_etl.create_model('sp_one', 'SELECT k, v FROM public.sp_one', 'k');
SELECT reverse_etl.create_mapping('sp_one', 'sp_auth', 'send', '{"key": "k", "value": "v"}', name => 'sp_auth');
SELECT mock_reset();
SELECT * FROM pg_temp.sp_sync('sp_auth');
SELECT r->>'method' AS method, r->>'path' AS path, r->>'body' AS body,
       r->'headers'->>'x-api-key' AS x_api_key, r->'headers'->>'x-team' AS x_team,
       r->'headers'->>'authorization' AS authorization, r->'headers'->>'content-type' AS content_type,
       r->'headers' ? 'x-signature' AS signed
  FROM mock_requests() AS r;
-- PATCH, with basic auth instead of the bearer token.
SELECT reverse_etl.alter_destination('sp_auth', settings => '{"method": "PATCH", "bearer_token": null,
    "basic_username": "ann", "basic_password": "p@ss:wörd"}');
SELECT reverse_etl.reset_mapping('sp_auth');
SELECT mock_reset();
SELECT * FROM pg_temp.sp_sync('sp_auth');
SELECT r->>'method' AS method, r->>'body' AS body, r->'headers'->>'authorization' AS authorization,
       r->'headers'->>'authorization' = 'Basic ' || encode(convert_to('ann:p@ss:wörd', 'UTF8'), 'base64')
           AS basic_matches,
       r->'headers'->>'x-api-key' AS x_api_key
  FROM mock_requests() AS r;
-- DELETE (with the body), signed.
SELECT reverse_etl.alter_destination('sp_auth', settings => '{"method": "DELETE", "signing_secret": "s3cr3t"}');
SELECT reverse_etl.reset_mapping('sp_auth');
SELECT mock_reset();
SELECT * FROM pg_temp.sp_sync('sp_auth');
SELECT r->>'method' AS method, r->>'body' AS body,
       r->'headers'->>'x-signature' ~ '^sha256=[0-9a-f]{64}$' AS signature_format,
       r->'headers'->>'x-signature' =
           'sha256=' || encode(hmac(convert_to(r->>'body', 'UTF8'), convert_to('s3cr3t', 'UTF8'), 'sha256'), 'hex')
           AS signature_matches
  FROM mock_requests() AS r;
-- POST is the default method.
SELECT reverse_etl.alter_destination('sp_auth', settings => '{"method": null}');
SELECT reverse_etl.reset_mapping('sp_auth');
SELECT mock_reset();
SELECT * FROM pg_temp.sp_sync('sp_auth');
SELECT r->>'method' AS method FROM mock_requests() AS r;
-- A static value is sent as written, however many digits it has.
SELECT reverse_etl.create_mapping('sp_one', 'sp_auth', 'send',
    '{"key": "k", "big": {"value": 123456789012345678901234}}', name => 'sp_static');
SELECT mock_reset();
SELECT * FROM pg_temp.sp_sync('sp_static');
SELECT (r->>'body')::jsonb AS body, strpos(r->>'body', '"big":123456789012345678901234') > 0 AS big_digits
  FROM mock_requests() AS r;
-- Methods the webhook does not have, batch sizes out of range.
SELECT reverse_etl.alter_destination('sp_auth', settings => '{"method": "GET"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('sp_auth', settings => '{"batch_size": 4001}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('sp_auth', settings => '{"batch_size": 0}');
\echo :LAST_ERROR_SQLSTATE

-- URL placeholders: {{record_id}} and {{fields.NAME}}, URL-encoded; one
-- record per request whatever batch_size says, since each has its own URL.
SELECT reverse_etl.create_destination('sp_url', 'webhook',
    jsonb_build_object('url', mock_url('/sp/u/{{record_id}}/x?e={{fields.email}}&n={{fields.num}}'),
                       'batch_size', 10),
    enabled => true);
SELECT reverse_etl.create_model('sp_url',
    $q$SELECT * FROM (VALUES ('a b', 'x+y@z.com', 1.50), ('c/d', 'é&=?#', 2), ('e', NULL, 3)) AS v(rid, email, num)$q$,
    'rid');
SELECT reverse_etl.create_mapping('sp_url', 'sp_url', 'send', '{"email": "email", "num": "num"}', name => 'sp_url');
SELECT mock_reset();
SELECT * FROM pg_temp.sp_sync('sp_url');
SELECT r->>'method' AS method, r->>'path' AS path, r->>'body' AS body FROM mock_requests() AS r ORDER BY 2;
-- A placeholder without a value makes the record invalid.
SELECT record_id, kind, error FROM reverse_etl.record_errors WHERE mapping = 'sp_url' ORDER BY record_id;

------------------------------------------------------------------------------
-- 4. Segment
------------------------------------------------------------------------------
CREATE TABLE public.sp_seg_users (
    uid     text PRIMARY KEY,
    user_id text,
    anon_id text,
    email   text,
    plan    text,
    seen_at timestamptz,
    props   jsonb
);
INSERT INTO public.sp_seg_users VALUES
    ('s1', 'u1', NULL, 'ann@example.com', 'pro', '2026-01-05 10:00+00', '{"path": "/pricing"}'),
    ('s2', NULL, 'anon-2', 'bob@example.com', 'free', '2026-01-06 11:30+01', '{"path": "/"}'),
    ('s3', NULL, NULL, 'cy@example.com', 'pro', NULL, NULL),
    ('s4', 'u4', 'anon-4', 'dee@example.com', 'team', '2026-01-07 00:00+00', '{}');
SELECT reverse_etl.create_model('sp_seg_users', 'SELECT * FROM public.sp_seg_users', 'uid');
SELECT reverse_etl.create_destination('sp_segment', 'segment',
    jsonb_build_object('write_key', 'wk-sp', 'endpoint', mock_url('/sp/seg')), enabled => true);
SELECT reverse_etl.create_mapping('sp_seg_users', 'sp_segment', 'identify', $f${
    "userId": "user_id", "anonymousId": "anon_id",
    "traits": {"object": {"email": "email", "plan": "plan"}}, "timestamp": "seen_at"}$f$,
    name => 'sp_identify');
SELECT reverse_etl.create_mapping('sp_seg_users', 'sp_segment', 'track', $f${
    "event": {"value": "Plan Viewed"}, "userId": "user_id", "anonymousId": {"column": "anon_id", "sync_nulls": false},
    "properties": {"object": {"plan": "plan"}}}$f$,
    name => 'sp_track');
SELECT reverse_etl.create_mapping('sp_seg_users', 'sp_segment', 'group', $f${
    "groupId": "plan", "userId": "user_id", "anonymousId": "anon_id",
    "traits": {"object": {"contact": "email"}}}$f$,
    name => 'sp_group');
SELECT reverse_etl.create_mapping('sp_seg_users', 'sp_segment', 'page', $f${
    "name": {"template": "Page {{props.path}}"}, "userId": "user_id", "anonymousId": "anon_id",
    "properties": {"select_object": "props"}}$f$,
    name => 'sp_page');
SELECT mock_reset();
SELECT * FROM pg_temp.sp_sync('sp_identify');
SELECT * FROM pg_temp.sp_sync('sp_track');
SELECT * FROM pg_temp.sp_sync('sp_group');
SELECT * FROM pg_temp.sp_sync('sp_page');
-- POST {endpoint}/v1/batch, Basic base64("write_key:"), {"batch": [...]}.
SELECT r->>'method' AS method, r->>'path' AS path, r->'headers'->>'authorization' AS authorization,
       r->'headers'->>'authorization' = 'Basic ' || encode(convert_to('wk-sp:', 'UTF8'), 'base64') AS auth_matches,
       r->'headers'->>'content-type' AS content_type,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys((r->>'body')::jsonb) AS k) AS body_keys,
       jsonb_array_length((r->>'body')::jsonb->'batch') AS events
  FROM mock_requests() AS r ORDER BY (r->>'seq')::int;
-- Each event: its type, the mapped fields, and a messageId (shown separately).
SELECT record->>'type' AS type, record - 'messageId' AS event
  FROM mock_records() ORDER BY seq, coalesce(record->>'userId', record->>'anonymousId');
SELECT count(*) AS events, count(DISTINCT record->>'messageId') AS distinct_message_ids,
       bool_and(length(record->>'messageId') BETWEEN 1 AND 99) AS message_ids_fit
  FROM mock_records();
-- s3 has neither userId nor anonymousId: invalid for every action.
SELECT mapping, record_id, kind, error FROM reverse_etl.record_errors
 WHERE mapping IN ('sp_identify', 'sp_track', 'sp_group', 'sp_page') ORDER BY 1, 2;

-- messageId names the version sent: reset_mapping is a deliberate resend,
-- so the same record with the same data gets a new id there (a receiver that
-- deduplicates by messageId would drop it otherwise); changed data too.
CREATE TEMP TABLE sp_ids AS
SELECT record->>'userId' AS user_id, record->>'anonymousId' AS anon_id, record->>'messageId' AS message_id
  FROM mock_records() WHERE record->>'type' = 'identify';
SELECT reverse_etl.reset_mapping('sp_identify');
SELECT mock_reset();
SELECT * FROM pg_temp.sp_sync('sp_identify');
SELECT count(*) AS resent, count(*) FILTER (WHERE i.message_id <> r.record->>'messageId') AS new_message_id
  FROM mock_records() AS r
  JOIN sp_ids AS i ON i.user_id IS NOT DISTINCT FROM r.record->>'userId'
                  AND i.anon_id IS NOT DISTINCT FROM r.record->>'anonymousId';
UPDATE public.sp_seg_users SET plan = 'enterprise' WHERE uid = 's1';
SELECT mock_reset();
SELECT * FROM pg_temp.sp_sync('sp_identify');
SELECT r.record->>'userId' AS user_id, r.record->'traits' AS traits,
       r.record->>'messageId' <> i.message_id AS new_message_id
  FROM mock_records() AS r JOIN sp_ids AS i ON i.user_id = r.record->>'userId';

-- A deletion is a version of its own: the same record deleted again after it
-- came back is a new event, not a duplicate a receiver would drop.
CREATE TABLE public.sp_seg_gone (uid text PRIMARY KEY, plan text);
INSERT INTO public.sp_seg_gone VALUES ('g1', 'pro');
SELECT reverse_etl.create_model('sp_seg_gone', 'SELECT uid, plan FROM public.sp_seg_gone', 'uid');
SELECT reverse_etl.create_mapping('sp_seg_gone', 'sp_segment', 'track',
    '{"event": {"value": "Seen"}, "userId": "uid", "properties": {"object": {"plan": "plan"}}}',
    sync_mode => 'all', name => 'sp_gone');
CREATE TEMP TABLE sp_gone_ids (step int, message_id text, properties jsonb);
CREATE FUNCTION pg_temp.sp_gone_step(step int) RETURNS void LANGUAGE sql AS $$
    SELECT mock_reset();
    SELECT status FROM reverse_etl.sync('sp_gone');
    INSERT INTO sp_gone_ids SELECT step, record->>'messageId', record->'properties' FROM mock_records();
$$;
SELECT pg_temp.sp_gone_step(1);                                         -- added
DELETE FROM public.sp_seg_gone;
SELECT pg_temp.sp_gone_step(2);                                         -- deleted
INSERT INTO public.sp_seg_gone VALUES ('g1', 'team');
SELECT pg_temp.sp_gone_step(3);                                         -- added again, other data
DELETE FROM public.sp_seg_gone;
SELECT pg_temp.sp_gone_step(4);                                         -- deleted again
SELECT step, properties,
       (SELECT count(*) FROM sp_gone_ids o WHERE o.message_id = i.message_id) AS same_id_events
  FROM sp_gone_ids i ORDER BY step;

-- Size limits: an event over 32 KB (32768 bytes, counting "type" and
-- "messageId") is invalid; at most 500 KB per request.
CREATE TABLE public.sp_seg_big (uid text PRIMARY KEY, pad text);
INSERT INTO public.sp_seg_big VALUES
    ('big1', repeat('x', 40000)),   -- far over
    ('edg1', repeat('x', 32721)),   -- the mapped fields fit (32758 bytes), the event does not
    ('fit1', repeat('x', 32500));   -- the whole event fits (type, messageId and context included)
INSERT INTO public.sp_seg_big SELECT 'bulk' || lpad(g::text, 2, '0'), repeat('y', 30000) FROM generate_series(1, 20) AS g;
SELECT reverse_etl.create_model('sp_seg_big', 'SELECT uid, pad FROM public.sp_seg_big', 'uid');
SELECT reverse_etl.create_mapping('sp_seg_big', 'sp_segment', 'identify',
    '{"userId": "uid", "traits": {"object": {"pad": "pad"}}}', name => 'sp_big');
SELECT mock_reset();
SELECT * FROM pg_temp.sp_sync('sp_big');
-- (the size in the second message counts the messageId, whose length varies)
SELECT record_id, kind, regexp_replace(error, 'is \d+ bytes', 'is N bytes') AS error
  FROM reverse_etl.record_errors WHERE mapping = 'sp_big' ORDER BY 1;
SELECT count(*) AS requests, bool_and((r->>'body_bytes')::int <= 512000) AS within_500kb,
       sum(jsonb_array_length((r->>'body')::jsonb->'batch')) AS events
  FROM mock_requests() AS r;
SELECT record->>'userId' AS user_id, octet_length(record::text) < 32768 AS under_32kb
  FROM mock_records() WHERE record->>'userId' NOT LIKE 'bulk%';

-- At most 2,500 events per request.
SELECT reverse_etl.create_model('sp_many', 'SELECT g AS n, ''user-'' || g AS user_id FROM generate_series(1, 2600) AS g', 'n');
SELECT reverse_etl.create_mapping('sp_many', 'sp_segment', 'track',
    '{"event": {"value": "Ping"}, "userId": "user_id"}', name => 'sp_many');
SELECT mock_reset();
SELECT * FROM pg_temp.sp_sync('sp_many');
SELECT jsonb_array_length((r->>'body')::jsonb->'batch') AS events FROM mock_requests() AS r ORDER BY 1 DESC;
SELECT count(*) AS events, count(DISTINCT record->>'userId') AS users,
       count(DISTINCT record->>'messageId') AS message_ids
  FROM mock_records();

-- A base URL ending in "/" does not make a double slash.
SELECT reverse_etl.alter_destination('sp_segment', settings => jsonb_build_object('endpoint', mock_url('/sp/seg2/')));
SELECT reverse_etl.reset_mapping('sp_page');
SELECT mock_reset();
SELECT * FROM pg_temp.sp_sync('sp_page');
SELECT r->>'path' AS path, jsonb_array_length((r->>'body')::jsonb->'batch') AS events FROM mock_requests() AS r;

------------------------------------------------------------------------------
-- Clean up
------------------------------------------------------------------------------
SELECT mock_reset();
SELECT reverse_etl.drop_model(name, cascade => true)
  FROM unnest(ARRAY['sp_people', 'sp_values', 'sp_items', 'sp_one', 'sp_url', 'sp_seg_users',
                    'sp_seg_gone', 'sp_seg_big', 'sp_many']) AS name;
SELECT reverse_etl.drop_destination(name)
  FROM unnest(ARRAY['sp_hook', 'sp_batch', 'sp_auth', 'sp_url', 'sp_segment']) AS name;
DROP TABLE public.sp_people, public.sp_values, public.sp_items, public.sp_one, public.sp_seg_users,
           public.sp_seg_gone, public.sp_seg_big;
DROP TYPE public.sp_address;
DROP EXTENSION pgcrypto;
SELECT count(*) AS leftovers FROM reverse_etl.mappings WHERE name LIKE 'sp\_%';
